using EtlStream.Sinks.Sql;
using EtlStream.Tenancy;

namespace EtlStream.Sinks.Postgres;

/// <summary><c>postgres://</c> (or <c>postgresql://</c>) targets and <c>kind: postgres</c> tenants; rls is native row-level security.</summary>
public sealed class PostgresSinkProvider : ServerSinkProvider
{
    public override string Kind => "postgres";

    public override IReadOnlyList<string> Schemes => ["postgres", "postgresql"];

    public override string TargetForm => "postgres://<user>@<host>[:port]/<db>?table=<name>[&schema=public][&sslmode=require|verify-ca|verify-full]";

    public override TargetDescription DescribeTarget(string target, string defaultTable) => SinkTarget.DescribeServer(target, defaultTable, Kind, 5432, ["schema", "sslmode"], "public");

    public override SinkCapabilities Capabilities { get; } = new() { Server = true, HealsFromTarget = true, ExactlyOnce = ExactlyOnce.LedgerInTransaction };

    public override bool TakesSslMode => true;

    public override IBatchSink CreateFromTarget(string target, string defaultTable) => new PostgresSink(SinkTarget.ParsePostgres(target, defaultTable));

    /// <summary>A tenant's table: the sink target with the tenant's password.</summary>
    public static PostgresSinkOptions Options(TenantConfig tenant, TenantTable table)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return SinkTarget.ParsePostgres(tenant.Sink.Path, table.Name, tenant.Sink.Password ?? string.Empty);
    }

    public override string DatabaseOf(SinkConfig sink)
    {
        ArgumentNullException.ThrowIfNull(sink);
        return new Npgsql.NpgsqlConnectionStringBuilder(SinkTarget.ParsePostgres(sink.Path, "t", sink.Password ?? string.Empty).ConnectionString).Database ?? string.Empty;
    }

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
