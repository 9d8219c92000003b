using System.Globalization;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// The CLI's <c>starrocks://user@fe-host:8030/db?table=t&amp;mysql_port=9030&amp;be=host:8040&amp;mode=transaction|label&amp;tls=true</c>
/// and <c>doris://...</c> targets. The password comes from <c>STARROCKS_PASSWORD</c> (<c>DORIS_PASSWORD</c>), never from
/// the target: a target is printed in reports and logs.
/// </summary>
internal static class StarRocksTarget
{
    public const string Forms =
        "starrocks://<user>@<fe-host>[:8030]/<db>[?table=<t>&mysql_port=9030&be=<host:port>&mode=transaction|label&tls=true&concurrency=2&max_txns=8&chunk_mb=90&chunk_rows=&max_filter_ratio=0&strict_mode=false&connect_timeout=15&timeout=600&overflow=reject|widen&tenant=<id>] (password in STARROCKS_PASSWORD), doris://... (DORIS_PASSWORD)";

    private static readonly string[] Keys =
        ["table", "mysql_port", "be", "mode", "tls", "concurrency", "max_txns", "chunk_mb", "chunk_rows", "max_filter_ratio", "strict_mode", "connect_timeout", "timeout", "overflow", "tenant", "state_dir"];

    public static bool Handles(string target) =>
        target.StartsWith("starrocks://", StringComparison.OrdinalIgnoreCase) || target.StartsWith("doris://", StringComparison.OrdinalIgnoreCase);

    /// <summary>Parses a target; <paramref name="password"/> null reads the dialect's environment variable.</summary>
    public static StarRocksSinkOptions Parse(string target, string defaultTable, string? password = null)
    {
        ArgumentNullException.ThrowIfNull(target);
        var doris = target.StartsWith("doris://", StringComparison.OrdinalIgnoreCase);
        var shown = SinkTarget.Redacted(target);
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw Invalid(shown, "not a URL");
        }

        if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
        {
            throw Invalid(shown, $"a password in the target would be printed; give it in {(doris ? "DORIS_PASSWORD" : "STARROCKS_PASSWORD")}");
        }

        if (uri.UserInfo.Length == 0)
        {
            throw Invalid(shown, "no user (starrocks://user@host/db)");
        }

        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (database.Length == 0 || database.Contains('/', StringComparison.Ordinal))
        {
            throw Invalid(shown, "give the database as the path: starrocks://user@host:8030/<db>");
        }

        var options = new StarRocksSinkOptions
        {
            Host = uri.Host,
            HttpPort = uri.IsDefaultPort ? 8030 : uri.Port,
            Database = database,
            Table = defaultTable,
            User = Uri.UnescapeDataString(uri.UserInfo),
            Password = password ?? Environment.GetEnvironmentVariable(doris ? "DORIS_PASSWORD" : "STARROCKS_PASSWORD") ?? string.Empty,
            Dialect = doris ? StreamLoadDialect.Doris : StreamLoadDialect.StarRocks,
        };
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = (eq >= 0 ? pair[..eq] : pair).ToLowerInvariant();
            var value = eq >= 0 ? Uri.UnescapeDataString(pair[(eq + 1)..]) : string.Empty;
            options = key switch
            {
                "table" => options with { Table = value },
                "mysql_port" => options with { MySqlPort = value is "" or "none" ? null : Int(shown, key, value) },
                "be" => options with { BackendAddress = value },
                "mode" => options with
                {
                    Mode = value.ToLowerInvariant() switch
                    {
                        "transaction" => StreamLoadMode.Transaction,
                        "label" => StreamLoadMode.Label,
                        _ => throw Invalid(shown, $"mode '{value}' (expected transaction or label)"),
                    },
                },
                "tls" => options with { UseTls = Bool(shown, key, value) },
                "concurrency" => options with { MaxConcurrency = Int(shown, key, value) },
                "max_txns" => options with { MaxTransactions = Int(shown, key, value) },
                "chunk_mb" => options with { ChunkBytes = Int(shown, key, value) * 1024L * 1024 },
                "chunk_rows" => options with { ChunkRows = Int(shown, key, value) },
                "max_filter_ratio" => options with
                {
                    MaxFilterRatio = double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r : throw Invalid(shown, $"max_filter_ratio '{value}'"),
                },
                "strict_mode" => options with { StrictMode = Bool(shown, key, value) },
                // The server's load and transaction timeout and the client's bound on every wait are one setting, and
                // both options read as they do on every other server target.
                "timeout" => options with { TimeoutSeconds = Seconds(shown, key, value), RequestTimeout = TimeSpan.FromSeconds(Seconds(shown, key, value)) },
                "connect_timeout" => options with { ConnectTimeout = TimeSpan.FromSeconds(Seconds(shown, key, value)) },
                "overflow" => options with
                {
                    Overflow = value.ToLowerInvariant() switch
                    {
                        "reject" => VarcharOverflowPolicy.Reject,
                        "widen" => VarcharOverflowPolicy.Widen,
                        _ => throw Invalid(shown, $"overflow '{value}' (expected reject or widen)"),
                    },
                },
                "tenant" => options with { Tenant = value },
                "state_dir" => options with { StateDirectory = value },
                _ => throw Invalid(shown, $"unknown option '{key}' (expected {string.Join(", ", Keys)})"),
            };
        }

        var errors = options.Validate();
        return errors.Count > 0 ? throw Invalid(shown, string.Join("; ", errors)) : options;
    }

    private static int Int(string shown, string key, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw Invalid(shown, $"{key} '{value}' is not a whole number");

    private static int Seconds(string shown, string key, string value) =>
        SinkTarget.TrySeconds(key, value, out var seconds, out var problem) ? seconds : throw Invalid(shown, problem);

    private static bool Bool(string shown, string key, string value) => value.ToLowerInvariant() switch
    {
        "true" or "1" or "yes" or "" => true,
        "false" or "0" or "no" => false,
        _ => throw Invalid(shown, $"{key} '{value}' is not true or false"),
    };

    private static ArgumentException Invalid(string shown, string reason) =>
        new($"Invalid target '{shown}': {reason}. Form: {Forms}.", "target");
}
