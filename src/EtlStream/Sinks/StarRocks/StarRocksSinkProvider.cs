using EtlStream.Tenancy;
using EtlStream.Transforms;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// <c>starrocks://</c> and <c>doris://</c> targets and tenants (one provider per dialect: each is its own kind in the
/// ledger): Stream Load through the FE, DDL and secure views through the FE's MySQL port.
/// </summary>
public sealed class StarRocksSinkProvider(SqlDialect dialect) : SinkProvider
{
    public override string Kind => dialect == SqlDialect.Doris ? "doris" : "starrocks";

    public override IReadOnlyList<string> Schemes => [Kind];

    public override string TargetForm => dialect == SqlDialect.Doris
        ? "doris://<user>@<fe-host>:8030/<db>?table=<name>"
        : "starrocks://<user>@<fe-host>:8030/<db>?table=<name>[&mysql_port=9030][&mode=transaction|label]";

    /// <summary>Its labels already make a reload of a file send nothing, so it never appends a file twice.</summary>
    public override TargetDescription DescribeTarget(string target, string defaultTable) => new(StarRocksTarget.Parse(target, defaultTable).Table, null, null);

    /// <summary>
    /// No ledger table of its own to heal from: a run that died before booking re-sends under the same labels and the
    /// server refuses the second commit (within its label window).
    /// </summary>
    public override SinkCapabilities Capabilities { get; } = new() { ExactlyOnce = ExactlyOnce.Labels };

    public override IBatchSink CreateFromTarget(string target, string defaultTable) => new StarRocksSink(StarRocksTarget.Parse(target, defaultTable));

    public override IReadOnlyList<(string Path, string Message)> Validate(SinkConfig sink, string? database)
    {
        ArgumentNullException.ThrowIfNull(sink);
        try
        {
            var target = StarRocksTarget.Parse(sink.Path, "t", sink.Password ?? string.Empty);
            return database is not null && !target.Database.Equals(database, StringComparison.Ordinal)
                ? [("sink.path", $"the target's database '{target.Database}' is not the tenant's database '{database}'")]
                : [];
        }
        catch (ArgumentException e)
        {
            return [("sink.path", e.Message)];
        }
    }

    /// <summary>The Stream Load options of a tenant's table: the sink target, the tenant's id in every label.</summary>
    public static StarRocksSinkOptions Options(TenantConfig tenant, TenantTable table)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return StarRocksTarget.Parse(tenant.Sink.Path, table.Name, tenant.Sink.Password ?? string.Empty) with { Tenant = tenant.Id };
    }

    /// <summary>A tenant's backfill as the in-cluster plan takes it: values, so the plan and the load need no tenancy.</summary>
    public static InClusterBackfill InCluster(BackfillPlan backfill)
    {
        ArgumentNullException.ThrowIfNull(backfill);
        var (tenant, table) = (backfill.Tenant, backfill.Table);
        return new InClusterBackfill(
            tenant.Id, table.Name, table.Spec, table.OnChanged, backfill.From, backfill.To, backfill.Shard, backfill.Days,
            tenant.Sink.Kind, tenant.Sink.Provider is StarRocksSinkProvider ? Options(tenant, table) : null,
            tenant.Source.Kind, tenant.Source.Settings, TenantJobRunner.TargetOf(tenant, table));
    }

    /// <summary>
    /// Append loads rows; merge is an upsert by the key on a PRIMARY KEY table (init-db makes keyed tables so); a full
    /// refresh loads a staging table and swaps it in.
    /// </summary>
    public override IBatchSink CreateTenantSink(TenantSinkContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var options = Options(context.Tenant, context.Table);
        return context.Mode == StepMode.Replace ? new StarRocksReplaceSink(options, context.Logger) : new StarRocksSink(options, context.Logger);
    }

    /// <summary>From the options, not a sink: a refresh's sink needs the FE's MySQL port, which explain does not.</summary>
    public override ValueTask<SinkDescription> DescribeAsync(TenantConfig tenant, TenantTable table, StepMode mode)
    {
        var options = Options(tenant, table);
        return ValueTask.FromResult(new SinkDescription($"{Kind} {tenant.Database}.{table.Name}", options.MaxConcurrency, options.ChunkRows, options.ChunkBytes));
    }

    /// <summary>Labels make a second load of a file a no-op, whatever the mode.</summary>
    public override string? ReloadProblem(TenantConfig tenant, string step, TenantTable table, StepMode mode)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(table);
        return $"--reload: {tenant.Id} loads into {Kind}, whose load labels make a second load of a file a no-op: {table.Name} would not be reloaded. Reload it through a replace step (a full refresh)";
    }

    /// <summary>
    /// Through the FE's MySQL port: the database and tables from the specs (PRIMARY KEY model for keyed tables), read
    /// back from information_schema; the access table and the secure views (Doris: views too; row policies need roles
    /// and values that tenant.yaml does not name yet).
    /// </summary>
    public override async Task<IReadOnlyList<string>> InitDatabaseAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        var options = Options(tenant, tenant.Tables.Values.First());

        // init-db needs the MySQL port even where loads do without it (mysql_port=none): the FE's default then.
        var connection = await StarRocksFeSql.OpenAsync(options with { MySqlPort = options.MySqlPort ?? 9030 }, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            var tables = tenant.Tables.Values
                .Select(t => new StarRocksTableDefinition(t.Name, new TableTransform(t.Spec, DateOnly.FromDateTime(DateTime.Today), tenant.Id).OutputSchema, t.Key))
                .ToList();
            var created = new List<string>(await StarRocksDatabase.InitializeAsync(connection, dialect, tenant.Database, tables, null, cancellationToken).ConfigureAwait(false));
            if (tenant.Rls is { } rls)
            {
                await StarRocksDatabase.ExecuteAsync(connection, StarRocksSecurity.CreateAccessTable(dialect, tenant.Database, rls.AccessTable), cancellationToken).ConfigureAwait(false);
                created.Add($"table {rls.AccessTable}");
                foreach (var view in rls.Views)
                {
                    await StarRocksDatabase.ExecuteAsync(connection, StarRocksSecurity.CreateSecureView(dialect, tenant.Database, view.Table, view.View, view.Column, rls.AccessTable), cancellationToken).ConfigureAwait(false);
                    created.Add($"view {view.View} ({view.Table} by {view.Column})");
                }
            }

            return created;
        }
    }
}
