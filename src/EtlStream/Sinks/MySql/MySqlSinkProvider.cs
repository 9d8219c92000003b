using EtlStream.Sinks.Sql;
using EtlStream.Tenancy;

namespace EtlStream.Sinks.MySql;

/// <summary><c>mysql://</c> (or <c>mariadb://</c>) targets and <c>kind: mysql</c> (or <c>mariadb</c>) tenants; rls is definer views.</summary>
public sealed class MySqlSinkProvider : ServerSinkProvider
{
    public override string Kind => "mysql";

    public override IReadOnlyList<string> Aliases => ["mariadb"];

    public override IReadOnlyList<string> Schemes => ["mysql", "mariadb"];

    public override string TargetForm => "mysql://<user>@<host>[:port]/<db>?table=<name>";

    public override TargetDescription DescribeTarget(string target, string defaultTable) => SinkTarget.DescribeServer(target, defaultTable, Kind, 3306, []);

    public override SinkCapabilities Capabilities { get; } = new() { Server = true, HealsFromTarget = true, ExactlyOnce = ExactlyOnce.LedgerInTransaction };

    public override IBatchSink CreateFromTarget(string target, string defaultTable) => new MySqlSink(SinkTarget.ParseMySql(target, defaultTable));

    /// <summary>A tenant's table: the sink target with the tenant's password.</summary>
    public static MySqlSinkOptions Options(TenantConfig tenant, TenantTable table)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return SinkTarget.ParseMySql(tenant.Sink.Path, table.Name, tenant.Sink.Password ?? string.Empty);
    }

    public override string DatabaseOf(SinkConfig sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return new MySqlConnector.MySqlConnectionStringBuilder(SinkTarget.ParseMySql(sink.Path, "t", sink.Password ?? string.Empty).ConnectionString).Database;
    }

    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return new MySqlSink(Options(context.Tenant, context.Table) with { Mode = WriteMode(context.Mode), Key = context.Table.Key, Ledger = context.Ledger });
    }

    public override Task<IReadOnlyList<LedgerRow>> ReadLedgerAsync(TenantConfig tenant, TenantTable table, string target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return MySqlSink.ReadLedgerAsync(Options(tenant, table).ConnectionString, tenant.Id, target, cancellationToken);
    }

    protected override async Task<string> CreateDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        await MySqlSecureViews.CreateDatabaseAsync(Options(tenant, tenant.Tables.Values.First()).ConnectionString, cancellationToken).ConfigureAwait(false);
        return $"database {DatabaseOf(tenant.Sink)}";
    }

    protected override async Task<IReadOnlyList<string>> CreateRowSecurityAsync(TenantConfig tenant, RlsConfig rls, CancellationToken cancellationToken)
    {
        var connectionString = Options(tenant, tenant.Tables.Values.First()).ConnectionString;
        await MySqlSecureViews.CreateAccessTableAsync(connectionString, rls.AccessTable, cancellationToken).ConfigureAwait(false);
        var created = new List<string> { $"table {rls.AccessTable}" };
        foreach (var view in rls.Views)
        {
            await MySqlSecureViews.CreateViewAsync(connectionString, rls.AccessTable, view.Table, view.View, view.Column, rls.Readers, cancellationToken).ConfigureAwait(false);
            created.Add($"view {view.View} ({view.Table} by {view.Column})");
        }

        return created;
    }
}
