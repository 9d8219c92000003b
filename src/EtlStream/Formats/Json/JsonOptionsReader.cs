using EtlStream.Tables;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Formats.Json;

/// <summary>Maps a spec's <c>json:</c> section to <see cref="JsonOptions"/>; every problem is recorded with its path.</summary>
internal static class JsonOptionsReader
{
    private static readonly string[] Keys = ["records", "max_record_bytes", "sample_rows"];

    public static JsonOptions Read(NodeReader r, YamlNode? node)
    {
        var options = JsonOptions.Default;
        if (node is null)
        {
            return options;
        }

        if (node is not YamlMappingNode m)
        {
            r.Error("json", "a mapping: { records, max_record_bytes, sample_rows }");
            return options;
        }

        r.CheckKeys(m, "json", Keys);
        if (r.String(m, "json", "records") is { } records)
        {
            if (JsonPath.TryParse(records, out var steps, out var error) && Array.TrueForAll(steps, s => s.Key is not null))
            {
                options = options with { Records = records };
            }
            else
            {
                r.Error("json.records", error is null
                    ? $"'{records}' holds an array index: records are found under object keys (features, data.items)"
                    : $"invalid path '{records}': {error}");
            }
        }

        if (r.Size(m, "json", "max_record_bytes") is { } max)
        {
            if (max is < 1024 or > int.MaxValue / 2)
            {
                r.Error("json.max_record_bytes", $"must be 1 KiB to 1 GiB, got {max}");
            }
            else
            {
                options = options with { MaxRecordBytes = (int)max };
            }
        }

        if (r.Int(m, "json", "sample_rows") is { } sample)
        {
            if (sample < 1)
            {
                r.Error("json.sample_rows", $"must be 1 or more, got {sample}");
            }
            else
            {
                options = options with { SampleRows = sample };
            }
        }

        return options;
    }
}
