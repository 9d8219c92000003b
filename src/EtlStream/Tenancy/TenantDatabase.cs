using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks.StarRocks;
using EtlStream.Transforms;

namespace EtlStream.Tenancy;

/// <summary><c>init-db</c>: the tenant's database with every table from its schemas, the access table and the secure views.</summary>
public static class TenantDatabase
{
    /// <summary>Creates what is missing; existing tables are checked against their schemas, never dropped.</summary>
    public static async Task<IReadOnlyList<string>> InitializeAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        if (tenant.Sink.IsStreamLoad)
        {
            return await InitializeStreamLoadAsync(tenant, cancellationToken).ConfigureAwait(false);
        }

        var created = new List<string>();
        foreach (var table in tenant.Tables.Values)
        {
            var schema = new TableTransform(table.Spec, DateOnly.FromDateTime(DateTime.Today), tenant.Id).OutputSchema;
            var sink = new DuckDbSink(TenantJobRunner.SinkOptions(tenant, table, StepMode.Append));
            await using (sink.ConfigureAwait(false))
            {
                await sink.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
                await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            created.Add($"table {table.Name}");
        }

        if (tenant.Rls is { } rls)
        {
            DuckDbSecureViews.CreateAccessTable(tenant.Sink.Path, rls.AccessTable);
            created.Add($"table {rls.AccessTable}");
            foreach (var view in rls.Views)
            {
                DuckDbSecureViews.CreateView(tenant.Sink.Path, rls.AccessTable, rls.UserVariable, view.Table, view.View, view.Column);
                created.Add($"view {view.View} ({view.Table} by {view.Column})");
            }
        }

        return created;
    }

    /// <summary>
    /// StarRocks/Doris through the FE's MySQL port: the database and tables from the specs (PRIMARY KEY model for
    /// keyed tables), read back from information_schema; the access table and the secure views (Doris: views too;
    /// row policies need roles and values that tenant.yaml does not name yet).
    /// </summary>
    private static async Task<IReadOnlyList<string>> InitializeStreamLoadAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        var first = tenant.Tables.Values.First();
        var options = TenantJobRunner.StreamLoadOptions(tenant, first);
        var dialect = tenant.Sink.Kind == "doris" ? SqlDialect.Doris : SqlDialect.StarRocks;
        var connection = new MySqlConnector.MySqlConnection(new MySqlConnector.MySqlConnectionStringBuilder
        {
            Server = options.Host,
            Port = (uint)(options.MySqlPort ?? 9030),
            UserID = options.User,
            Password = options.Password,
            SslMode = options.UseTls ? MySqlConnector.MySqlSslMode.Preferred : MySqlConnector.MySqlSslMode.None,
        }.ConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
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
