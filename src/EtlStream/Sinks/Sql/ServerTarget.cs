using System.Globalization;
using EtlStream.Security;

namespace EtlStream.Sinks.Sql;

/// <summary>
/// What every database-server target shares, <c>&lt;scheme&gt;://user@host[:port]/&lt;database&gt;?table=…&amp;mode=…&amp;concurrency=…&amp;connect_timeout=…&amp;timeout=…</c>,
/// parsed once for PostgreSQL, MySQL/MariaDB and ClickHouse: each provider builds its driver's options from it, with
/// the password from the tenant or the environment, never from the target (which gets printed).
/// </summary>
internal sealed record ServerTarget(
    string User, string Host, int Port, string Database, string Table, SqlWriteMode Mode, int? Concurrency,
    IReadOnlyDictionary<string, string> Extra, int ConnectTimeout, int Timeout)
{
    /// <summary>The <c>sslmode=</c> values a target (or tenant.yaml's <c>sink.sslmode</c>) may give.</summary>
    public static readonly IReadOnlyList<string> SslModes = ["require", "verify-ca", "verify-full"];

    /// <summary><see cref="SslModes"/> as errors list them.</summary>
    public static string SslModeList => string.Join(", ", SslModes.Take(SslModes.Count - 1)) + " or " + SslModes[^1];

    /// <param name="extraKeys">Options of this kind besides the shared ones, kept in <see cref="Extra"/>.</param>
    /// <exception cref="ArgumentException">The target is malformed: the message names it (password redacted) and why.</exception>
    public static ServerTarget Parse(string target, string defaultTable, int defaultPort, IReadOnlyList<string> extraKeys)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(extraKeys);
        if (!Uri.TryCreate(target, UriKind.Absolute, out var uri) || uri.Host.Length == 0)
        {
            throw SinkTarget.Invalid(target, "expected <scheme>://<user>@<host>[:port]/<database>?table=<name>");
        }

        if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
        {
            throw SinkTarget.Invalid(target, "a password does not belong in the target (it would be printed): set it in the environment");
        }

        var user = Uri.UnescapeDataString(uri.UserInfo);
        var database = Uri.UnescapeDataString(uri.AbsolutePath.Trim('/'));
        if (user.Length == 0)
        {
            throw SinkTarget.Invalid(target, "no user (give <user>@<host>)");
        }

        if (database.Length == 0 || database.Contains('/', StringComparison.Ordinal))
        {
            throw SinkTarget.Invalid(target, "no database (give /<database> after the host)");
        }

        var table = defaultTable;
        var mode = SqlWriteMode.Append;
        int? concurrency = null;
        var connectTimeout = SinkTarget.DefaultConnectTimeoutSeconds;
        var timeout = SinkTarget.DefaultTimeoutSeconds;
        var extra = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var key = eq >= 0 ? pair[..eq] : pair;
            var value = eq >= 0 ? Uri.UnescapeDataString(pair[(eq + 1)..]) : string.Empty;
            switch (key.ToLowerInvariant())
            {
                case "table":
                    table = value;
                    break;
                case "mode":
                    mode = value.ToLowerInvariant() switch
                    {
                        "append" => SqlWriteMode.Append,
                        "replace" => SqlWriteMode.Replace,
                        _ => throw SinkTarget.Invalid(target, $"unknown mode '{value}' (expected append or replace)"),
                    };
                    break;
                case "concurrency":
                    concurrency = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= 64
                        ? n
                        : throw SinkTarget.Invalid(target, $"concurrency must be 1..64, got '{value}'");
                    break;
                case "connect_timeout":
                    connectTimeout = Seconds(target, key, value);
                    break;
                case "timeout":
                    timeout = Seconds(target, key, value);
                    break;
                default:
                    if (!extraKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
                    {
                        throw SinkTarget.Invalid(target, $"unknown option '{key}' (expected table, mode, concurrency, connect_timeout, timeout{string.Concat(extraKeys.Select(k => ", " + k))})");
                    }

                    extra[key] = value;
                    break;
            }
        }

        if (string.IsNullOrWhiteSpace(table))
        {
            throw SinkTarget.Invalid(target, "no table name (give ?table=<name>)");
        }

        return new ServerTarget(user, uri.Host, uri.IsDefaultPort || uri.Port < 0 ? defaultPort : uri.Port, database, table, mode, concurrency, extra, connectTimeout, timeout);
    }

    /// <summary>
    /// The tenant's <c>${NAME}</c> password, else the database's own variable, then ours (<c>ETLSTREAM_DB_PASSWORD</c>).
    /// The value is registered with <see cref="Redaction"/> so that a server or proxy echoing it back is scrubbed too.
    /// </summary>
    public static string? Password(string? tenantPassword, string databaseVariable)
    {
        var password = tenantPassword
            ?? Environment.GetEnvironmentVariable(databaseVariable) ?? Environment.GetEnvironmentVariable("ETLSTREAM_DB_PASSWORD");
        if (!string.IsNullOrEmpty(password))
        {
            Redaction.Protect(password);
        }

        return password;
    }

    /// <summary>
    /// What the target loads into, named the same however it is typed (<c>postgres://u@h:5432/db/public.t</c>): the
    /// ad-hoc ledger's key, or none for a replace. <paramref name="defaultSchema"/>: the kind names tables by schema.
    /// </summary>
    public TargetDescription Describe(string kind, string? defaultSchema)
    {
        var schema = defaultSchema is null ? "" : (Extra.GetValueOrDefault("schema") ?? defaultSchema) + ".";
        return new(
            Table,
            Mode == SqlWriteMode.Replace ? null : string.Create(CultureInfo.InvariantCulture, $"{kind}://{User}@{Host}:{Port}/{Database}/{schema}{Table}"),
            null);
    }

    private static int Seconds(string target, string key, string value) =>
        SinkTarget.TrySeconds(key, value, out var n, out var problem) ? n : throw SinkTarget.Invalid(target, problem);
}
