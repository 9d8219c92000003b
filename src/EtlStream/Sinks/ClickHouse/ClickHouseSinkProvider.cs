using System.Globalization;
using EtlStream.Sinks.Sql;
using EtlStream.Tenancy;

namespace EtlStream.Sinks.ClickHouse;

/// <summary><c>clickhouse://</c> targets (the HTTP port) and <c>kind: clickhouse</c> tenants.</summary>
internal sealed class ClickHouseSinkProvider : ServerSinkProvider<ClickHouseSinkOptions>
{
    public override string Kind => "clickhouse";

    public override IReadOnlyList<string> Schemes => ["clickhouse"];

    public override string TargetForm => "clickhouse://<user>@<host>[:http-port]/<db>?table=<name>";

    /// <summary>
    /// No transactions: the ledger rows are written right after the file's rows. Verified on 18.16: a user whose
    /// allow_databases holds only a view's database is refused the view ("Access denied to database &lt;base&gt;"), so
    /// per-tenant view databases cannot restrict rows either.
    /// </summary>
    public override SinkCapabilities Capabilities { get; } = new()
    {
        Server = true,
        HealsFromTarget = true,
        ExactlyOnce = ExactlyOnce.LedgerAfterRows,
        NoRowLevelSecurity = "ClickHouse 18.16 has no row-level security (no row policies, no currentUser(), and a view does not lift database access): remove rls from a clickhouse tenant",
    };

    /// <summary>The key is the table's sort order, not a primary key to check.</summary>
    protected override bool ChecksKey => false;

    protected override int DefaultPort => 8123;

    /// <param name="password">A tenant's <c>${NAME}</c> password; null: from CLICKHOUSE_PASSWORD or ETLSTREAM_DB_PASSWORD.</param>
    internal static ClickHouseSinkOptions ParseTarget(string target, string defaultTable, string? password = null)
    {
        var a = ServerTarget.Parse(target, defaultTable, 8123, []);
        var options = new ClickHouseSinkOptions
        {
            Endpoint = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://{a.Host}:{a.Port}/")),
            Database = a.Database,
            Table = a.Table,
            User = a.User,
            Password = ServerTarget.Password(password, "CLICKHOUSE_PASSWORD"),
            Mode = a.Mode,
            ConnectTimeout = TimeSpan.FromSeconds(a.ConnectTimeout),
            Timeout = TimeSpan.FromSeconds(a.Timeout),
        };
        return a.Concurrency is { } n ? options with { MaxConcurrency = n } : options;
    }

    private protected override ClickHouseSinkOptions Parse(string target, string defaultTable, string? password) => ParseTarget(target, defaultTable, password);

    private protected override string DatabaseOf(ClickHouseSinkOptions options) => options.Database;

    private protected override IBatchSink Create(ClickHouseSinkOptions options) => new ClickHouseSink(options);

    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new ClickHouseSink(Options(context.Tenant, context.Table) with { Mode = WriteMode(context.Mode), Key = context.Table.Key, Ledger = context.Ledger });
    }

    public override Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(TenantConfig tenant, TenantTable table, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return ClickHouseSink.ReadLedgerAsync(Options(tenant, table), tenant.Id, target, cancellationToken);
    }

    protected override async Task<string> CreateDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        var options = Options(tenant, tenant.Tables.Values.First());
        await ClickHouseSink.RunStatementAsync(options, $"CREATE DATABASE IF NOT EXISTS {ClickHouseDialect.Instance.Quote(options.Database)}", cancellationToken).ConfigureAwait(false);
        return $"database {DatabaseOf(tenant.Sink)}";
    }

    protected override Task<IReadOnlyList<string>> CreateRowSecurityAsync(TenantConfig tenant, RlsConfig rls, CancellationToken cancellationToken) =>
        throw new NotSupportedException($"{tenant.Id}: rls: ClickHouse 18.16 has no row-level security");
}
