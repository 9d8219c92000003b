using EtlStream.Formats.Csv;
using YamlDotNet.RepresentationModel;

namespace EtlStream.Tables;

public static partial class TableSpecReader
{
    /// <summary><c>decompression: { max_bytes, max_ratio, ratio_check_after }</c>: the bomb limits for this table's files.</summary>
    private static Compression.DecompressionLimits? ReadDecompression(NodeReader r, YamlMappingNode root)
    {
        if (r.Child(root, "decompression") is not { } node)
        {
            return null;
        }

        if (node is not YamlMappingNode m)
        {
            r.Error("decompression", "a mapping: { max_bytes, max_ratio, ratio_check_after }");
            return null;
        }

        r.CheckKeys(m, "decompression", DecompressionKeys);
        var limits = Compression.DecompressionLimits.Default;
        if (r.Size(m, "decompression", "max_bytes") is { } max)
        {
            limits = limits with { MaxBytes = max };
        }

        if (r.Int(m, "decompression", "max_ratio") is { } ratio)
        {
            limits = limits with { MaxRatio = ratio };
        }

        if (r.Size(m, "decompression", "ratio_check_after") is { } after)
        {
            limits = limits with { RatioCheckAfterBytes = after };
        }

        if (limits.MaxBytes <= 0 || limits.MaxRatio <= 0 || limits.RatioCheckAfterBytes < 0)
        {
            r.Error("decompression", "max_bytes and max_ratio must be positive, ratio_check_after not negative");
        }

        return limits;
    }

    private static CsvOptions ReadCsv(NodeReader r, YamlMappingNode root)
    {
        var csv = CsvOptions.Default;
        if (r.Child(root, "csv") is not { } node)
        {
            return csv;
        }

        if (node is not YamlMappingNode m)
        {
            r.Error("csv", "a mapping");
            return csv;
        }

        r.CheckKeys(m, "csv", CsvKeys);
        if (r.Byte(m, "csv", "delimiter") is { } d)
        {
            csv = csv with { Delimiter = d };
        }

        if (r.Byte(m, "csv", "quote") is { } q)
        {
            csv = csv with { Quote = q };
        }

        if (r.Bool(m, "csv", "header") is { } h)
        {
            csv = csv with { HasHeader = h };
        }

        if (r.String(m, "csv", "encoding") is { } encodingName)
        {
            if (CsvEncodingNames.Parse(encodingName) is { } encoding)
            {
                csv = csv with { Encoding = encoding };
            }
            else
            {
                r.Error("csv.encoding", $"unknown encoding '{encodingName}' (expected {CsvEncodingNames.Accepted})");
            }
        }

        if (r.Strings(m, "csv", "null") is { } n)
        {
            csv = csv with { NullTokens = n };
        }

        if (r.Int(m, "csv", "batch_rows") is { } b)
        {
            csv = csv with { BatchRows = b };
        }

        if (r.Int(m, "csv", "max_columns") is { } columns)
        {
            csv = csv with { MaxColumns = columns };
        }

        if (r.Size(m, "csv", "max_record_bytes") is { } mx)
        {
            if (mx > int.MaxValue)
            {
                r.Error("csv.max_record_bytes", $"{mx:N0} is over the 2 GiB a record can have");
            }
            else
            {
                csv = csv with { MaxRecordBytes = (int)mx };
            }
        }

        foreach (var e in csv.Validate())
        {
            r.Error(e[..e.IndexOf(':', StringComparison.Ordinal)], e[(e.IndexOf(':', StringComparison.Ordinal) + 2)..]);
        }

        return csv;
    }
}
