using EtlStream.Sinks.Sql;
using EtlStream.Tenancy;
using Npgsql;

namespace EtlStream.Sinks.Postgres;

/// <summary><c>postgres://</c> (or <c>postgresql://</c>) targets and <c>kind: postgres</c> tenants; rls is native row-level security.</summary>
internal sealed class PostgresSinkProvider : ServerSinkProvider<PostgresSinkOptions>
{
    public override string Kind => "postgres";

    public override IReadOnlyList<string> Schemes => ["postgres", "postgresql"];

    public override string TargetForm => "postgres://<user>@<host>[:port]/<db>?table=<name>[&schema=public][&sslmode=require|verify-ca|verify-full]";

    public override SinkCapabilities Capabilities { get; } = new() { Server = true, HealsFromTarget = true, ExactlyOnce = ExactlyOnce.LedgerInTransaction };

    public override bool TakesSslMode => true;

    private static readonly IReadOnlyList<string> Extra = ["schema", "sslmode"];

    protected override int DefaultPort => 5432;

    protected override IReadOnlyList<string> TargetOptions => Extra;

    protected override string DefaultSchema => "public";

    /// <param name="password">A tenant's <c>${NAME}</c> password; null: from PGPASSWORD or ETLSTREAM_DB_PASSWORD.</param>
    internal static PostgresSinkOptions ParseTarget(string target, string defaultTable, string? password = null)
    {
        var a = ServerTarget.Parse(target, defaultTable, 5432, Extra);
        var ssl = a.Extra.GetValueOrDefault("sslmode")?.ToLowerInvariant() switch
        {
            null => SslMode.Prefer,
            "require" => SslMode.Require,
            "verify-ca" => SslMode.VerifyCA,
            "verify-full" => SslMode.VerifyFull,
            var other => throw SinkTarget.Invalid(target, $"unknown sslmode '{other}' (expected {ServerTarget.SslModeList})"),
        };
        var builder = new NpgsqlConnectionStringBuilder
        {
            Host = a.Host, Port = a.Port, Username = a.User, Database = a.Database,
            Password = ServerTarget.Password(password, "PGPASSWORD"), ApplicationName = "etlstream",
            SslMode = ssl, Timeout = a.ConnectTimeout, CommandTimeout = a.Timeout,
        };
        if (ssl < SslMode.Require)
        {
            // Without an encrypted connection a server (or anything in between) asking for the password in cleartext
            // would get it readable on the wire: only challenge-response methods are accepted then.
            builder.RequireAuth = "!Password";
        }

        var options = new PostgresSinkOptions
        {
            ConnectionString = builder.ConnectionString,
            Table = a.Table,
            Schema = a.Extra.GetValueOrDefault("schema") ?? "public",
            Mode = a.Mode,
        };
        return a.Concurrency is { } n ? options with { MaxConcurrency = n } : options;
    }

    private protected override PostgresSinkOptions Parse(string target, string defaultTable, string? password) => ParseTarget(target, defaultTable, password);

    private protected override string DatabaseOf(PostgresSinkOptions options) => new NpgsqlConnectionStringBuilder(options.ConnectionString).Database ?? string.Empty;

    private protected override IBatchSink Create(PostgresSinkOptions options) => new PostgresSink(options);

    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new PostgresSink(Options(context.Tenant, context.Table) with { Mode = WriteMode(context.Mode), Key = context.Table.Key, Ledger = context.Ledger });
    }

    public override Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(TenantConfig tenant, TenantTable table, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var options = Options(tenant, table);
        return PostgresSink.ReadLedgerAsync(options.ConnectionString, options.Schema, tenant.Id, target, cancellationToken);
    }

    protected override async Task<string> CreateDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        var options = Options(tenant, tenant.Tables.Values.First());
        await PostgresRowSecurity.CreateDatabaseAsync(options.ConnectionString, options.Schema, cancellationToken).ConfigureAwait(false);
        return $"database {DatabaseOf(tenant.Sink)} (schema {options.Schema})";
    }

    /// <summary>Native RLS filters the table itself: readers query the table, and the view name is not used.</summary>
    protected override async Task<IReadOnlyList<string>> CreateRowSecurityAsync(TenantConfig tenant, RlsConfig rls, CancellationToken cancellationToken)
    {
        var options = Options(tenant, tenant.Tables.Values.First());
        await PostgresRowSecurity.CreateAccessTableAsync(options.ConnectionString, options.Schema, rls.AccessTable, rls.Readers, cancellationToken).ConfigureAwait(false);
        var created = new List<string> { $"table {rls.AccessTable}" };
        foreach (var view in rls.Views)
        {
            await PostgresRowSecurity.EnableAsync(options.ConnectionString, options.Schema, view.Table, view.Column, rls.AccessTable, rls.Readers, cancellationToken).ConfigureAwait(false);
            created.Add($"row-level security on {view.Table} (by {view.Column})");
        }

        return created;
    }
}
