using System.Globalization;
using EtlStream.Sinks.DuckDb;

namespace EtlStream.Sinks;

/// <summary>Turns a CLI target string into a sink.</summary>
public static class SinkTarget
{
    /// <summary>
    /// Every kind of target, one form each, from <see cref="SinkRegistry"/>: <c>load --help</c>, every invalid-target
    /// error and the README show this list (a test holds the README and the help to it), so a kind is never missing from one of them.
    /// </summary>
    public static IReadOnlyList<string> Forms => SinkRegistry.TargetForms;

    /// <summary>What the forms share, said once after the list.</summary>
    public const string FormNotes =
        "postgres, mysql (MySQL or MariaDB) and clickhouse targets also take &mode=append|replace, &concurrency=<n>, " +
        "&connect_timeout=<seconds> (default 15) and &timeout=<seconds> (default 600); passwords come from PGPASSWORD, MYSQL_PWD, " +
        "CLICKHOUSE_PASSWORD, STARROCKS_PASSWORD or DORIS_PASSWORD (or ETLSTREAM_DB_PASSWORD), never from the target";

    /// <summary><see cref="Forms"/> and <see cref="FormNotes"/> as one line, for errors and help.</summary>
    public static string SupportedForms => string.Join(", ", Forms) + "; " + FormNotes;

    /// <summary>Seconds to connect, log in and get the first answer, unless the target says <c>connect_timeout=</c>.</summary>
    public const int DefaultConnectTimeoutSeconds = 15;

    /// <summary>Seconds to wait for any statement's answer, unless the target says <c>timeout=</c>.</summary>
    public const int DefaultTimeoutSeconds = 600;

    /// <summary>
    /// Parses <c>parquet:&lt;path&gt;</c> or <c>duckdb:&lt;file&gt;[?table=&lt;name&gt;][&amp;mode=append|replace]</c>.
    /// <paramref name="defaultTable"/> names the DuckDB table when the target has no <c>table=</c>.
    /// </summary>
    public static IBatchSink Create(string target, string defaultTable)
    {
        ArgumentNullException.ThrowIfNull(target);
        var colon = target.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? target[..colon] : string.Empty;
        return colon > 0 && SinkRegistry.ForScheme(scheme) is { } provider
            ? provider.CreateFromTarget(target, defaultTable)
            : throw Invalid(target, (colon > 0 ? $"unknown scheme '{scheme}'" : "no scheme") + Suggestion(target));
    }

    /// <summary>
    /// What a valid target loads into (<paramref name="defaultTable"/> unless it says <c>table=</c>), without
    /// connecting to anything: the table the summary names, where it appends, and the DuckDB file it opens.
    /// </summary>
    public static TargetDescription Describe(string target, string defaultTable)
    {
        ArgumentNullException.ThrowIfNull(target);
        var colon = target.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && SinkRegistry.ForScheme(target[..colon]) is { } provider
            ? provider.DescribeTarget(target, defaultTable)
            : new TargetDescription(defaultTable, null, null); // Create refuses it, with a suggestion
    }

    /// <summary>A <c>duckdb:</c> target's table, what it appends to (not a replace) and its file.</summary>
    internal static TargetDescription DescribeDuckDb(string target, string defaultTable)
    {
        var duck = ParseDuckDb(target, target[(target.IndexOf(':', StringComparison.Ordinal) + 1)..], defaultTable);
        var file = Path.GetFullPath(duck.DatabasePath);
        return new TargetDescription(duck.Table, duck.Mode == DuckDbWriteMode.Replace ? null : $"duckdb:{file}/{duck.Table}", file);
    }

    /// <summary>
    /// A target typed as a bare file name (<c>out/x.parquet</c>) gets the form its extension suggests. The kind is not
    /// inferred: a scheme says what the file will be whatever its name, and a Windows drive (<c>C:</c>) is no scheme.
    /// </summary>
    private static string Suggestion(string target)
    {
        var extension = Path.GetExtension(target.Split('?')[0]);
        var kind = extension.Length == 0 ? null
            : SinkRegistry.Providers.FirstOrDefault(p => p.FileExtensions.Contains(extension, StringComparer.OrdinalIgnoreCase))?.Schemes[0];
        return kind is null ? "" : $" (did you mean {kind}:{target}?)";
    }

    /// <summary>
    /// The one rule for a target's <c>connect_timeout=</c> and <c>timeout=</c> values (every server target, StarRocks and
    /// Doris included): whole seconds from 1 to 86400; <paramref name="problem"/> says why not, naming the option.
    /// </summary>
    internal static bool TrySeconds(string key, string value, out int seconds, out string problem)
    {
        if (int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out seconds) && seconds is >= 1 and <= 86_400)
        {
            problem = string.Empty;
            return true;
        }

        problem = $"{key} must be whole seconds from 1 to 86400, got '{value}'";
        return false;
    }

    internal static DuckDbSinkOptions ParseDuckDb(string target, string rest, string defaultTable)
    {
        var question = rest.IndexOf('?', StringComparison.Ordinal);
        var file = question >= 0 ? rest[..question] : rest;
        if (DuckDbSinkOptions.CheckPath(file) is { } notAPath)
        {
            throw Invalid(target, notAPath);
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

    internal static ArgumentException Invalid(string target, string reason) =>
        new($"Invalid target '{Redacted(target)}': {reason}. Supported forms: {SupportedForms}.");

    /// <summary>A target with any <c>user:password@</c> password replaced by <c>***</c>, so that no error or report prints it.</summary>
    public static string Redacted(string target)
    {
        var scheme = target.IndexOf("://", StringComparison.Ordinal);
        var at = target.IndexOf('@', StringComparison.Ordinal);
        var colon = scheme < 0 ? -1 : target.IndexOf(':', scheme + 3);
        return scheme >= 0 && colon > 0 && at > colon ? target[..(colon + 1)] + "***" + target[at..] : target;
    }
}

/// <summary>What a target loads into (<see cref="SinkTarget.Describe"/>).</summary>
/// <param name="Table">The table loaded (for a Parquet or CSV file, the table its rows are of).</param>
/// <param name="AppendsTo">
/// The table a load appends to, named the same however the target is typed (<c>duckdb:/abs/w.duckdb/t</c>,
/// <c>postgres://u@h:5432/db/public.t</c>), the load ledger's key for ad-hoc loads; null for targets every load
/// replaces whole (<c>parquet:</c>, <c>csv:</c>, <c>mode=replace</c>) and for StarRocks and Doris.
/// </param>
/// <param name="DuckDbFile">The DuckDB file's full path, for a <c>duckdb:</c> target.</param>
public sealed record TargetDescription(string Table, string? AppendsTo, string? DuckDbFile);
