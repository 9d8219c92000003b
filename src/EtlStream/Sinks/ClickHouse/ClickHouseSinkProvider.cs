using EtlStream.Sinks.Sql;
using EtlStream.Tenancy;

namespace EtlStream.Sinks.ClickHouse;

/// <summary><c>clickhouse://</c> targets (the HTTP port) and <c>kind: clickhouse</c> tenants.</summary>
public sealed class ClickHouseSinkProvider : ServerSinkProvider
{
    public override string Kind => "clickhouse";

    public override IReadOnlyList<string> Schemes => ["clickhouse"];

    public override string TargetForm => "clickhouse://<user>@<host>[:http-port]/<db>?table=<name>";

    public override TargetDescription DescribeTarget(string target, string defaultTable) => SinkTarget.DescribeServer(target, defaultTable, Kind, 8123, []);

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

    public override IBatchSink CreateFromTarget(string target, string defaultTable) => new ClickHouseSink(SinkTarget.ParseClickHouse(target, defaultTable));

    /// <summary>A tenant's table: the sink target with the tenant's password.</summary>
    public static ClickHouseSinkOptions Options(TenantConfig tenant, TenantTable table)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return SinkTarget.ParseClickHouse(tenant.Sink.Path, table.Name, tenant.Sink.Password ?? string.Empty);
    }

    public override string DatabaseOf(SinkConfig sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return SinkTarget.ParseClickHouse(sink.Path, "t", sink.Password ?? string.Empty).Database;
    }

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
