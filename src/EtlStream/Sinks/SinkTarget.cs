using EtlStream.Formats.Csv;
using EtlStream.Sinks.Csv;
using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks.Parquet;

namespace EtlStream.Sinks;

/// <summary>Turns a CLI target string into a sink.</summary>
public static class SinkTarget
{
    public const string SupportedForms =
        "parquet:<path>, duckdb:<file>, duckdb:<file>?table=<name>, duckdb:<file>?table=<name>&mode=append|replace, csv:<path>[?separator=tab], starrocks://<user>@<fe-host>:8030/<db>?table=<t>, doris://<user>@<fe-host>:8030/<db>?table=<t>";

    /// <summary>
    /// Parses <c>parquet:&lt;path&gt;</c> or <c>duckdb:&lt;file&gt;[?table=&lt;name&gt;][&amp;mode=append|replace]</c>.
    /// <paramref name="defaultTable"/> names the DuckDB table when the target has no <c>table=</c>.
    /// </summary>
    public static IBatchSink Create(string target, string defaultTable)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (StarRocks.StarRocksTarget.Handles(target))
        {
            return new StarRocks.StarRocksSink(StarRocks.StarRocksTarget.Parse(target, defaultTable));
        }

        var colon = target.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? target[..colon] : string.Empty;
        var rest = colon > 0 ? target[(colon + 1)..] : string.Empty;

        if (scheme.Equals("parquet", StringComparison.OrdinalIgnoreCase))
        {
            if (rest.Length == 0)
            {
                throw Invalid(target, "the Parquet path is empty");
            }

            return new ParquetSink(new ParquetSinkOptions { Path = rest });
        }

        if (scheme.Equals("csv", StringComparison.OrdinalIgnoreCase))
        {
            return ParseCsv(target, rest);
        }

        if (scheme.Equals("duckdb", StringComparison.OrdinalIgnoreCase))
        {
            return new DuckDbSink(ParseDuckDb(target, rest, defaultTable));
        }

        throw Invalid(target, colon > 0 ? $"unknown scheme '{scheme}'" : "no scheme");
    }

    /// <summary><c>csv:&lt;path&gt;</c>: comma separated with a header row, NULL as <c>\N</c> (unambiguous, as in Stream Load bodies); <c>?separator=tab</c> for TSV.</summary>
    private static CsvFileSink ParseCsv(string target, string rest)
    {
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var file = question >= 0 ? rest[..question] : rest;
        if (file.Length == 0)
        {
            throw Invalid(target, "the CSV path is empty");
        }

        var options = new CsvWriteOptions { Separator = (byte)',', Header = true };
        if (question >= 0)
        {
            options = rest[(question + 1)..] switch
            {
                "separator=tab" => options with { Separator = (byte)'\t' },
                "separator=," => options,
                var other => throw Invalid(target, $"unknown option '{other}' (expected separator=tab or separator=,)"),
            };
        }

        return new CsvFileSink(file, options);
    }

    internal static DuckDbSinkOptions ParseDuckDb(string target, string rest, string defaultTable)
    {
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var file = question >= 0 ? rest[..question] : rest;
        if (file.Length == 0)
        {
            throw Invalid(target, "the DuckDB file is empty");
        }

        var table = defaultTable;
        var mode = DuckDbWriteMode.Append;
        if (question >= 0)
        {
            foreach (var pair in rest[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries))
            {
                var eq = pair.IndexOf('=', StringComparison.Ordinal);
                var key = eq >= 0 ? pair[..eq] : pair;
                var value = eq >= 0 ? Uri.UnescapeDataString(pair[(eq + 1)..]) : string.Empty;
                if (key.Equals("table", StringComparison.OrdinalIgnoreCase))
                {
                    table = value;
                }
                else if (key.Equals("mode", StringComparison.OrdinalIgnoreCase))
                {
                    mode = value.ToLowerInvariant() switch
                    {
                        "append" => DuckDbWriteMode.Append,
                        "replace" => DuckDbWriteMode.Replace,
                        _ => throw Invalid(target, $"unknown mode '{value}' (expected append or replace)"),
                    };
                }
                else
                {
                    throw Invalid(target, $"unknown option '{key}' (expected table, mode)");
                }
            }
        }

        if (string.IsNullOrWhiteSpace(table))
        {
            throw Invalid(target, "no table name (give ?table=<name>)");
        }

        return new DuckDbSinkOptions { DatabasePath = file, Table = table, Mode = mode };
    }

    private static ArgumentException Invalid(string target, string reason) =>
        new($"Invalid target '{target}': {reason}. Supported forms: {SupportedForms}.", nameof(target));
}
