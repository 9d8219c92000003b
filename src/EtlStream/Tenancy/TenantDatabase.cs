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
        ArgumentNullException.ThrowIfNull(tenant);
        if (tenant.Sink.IsStreamLoad)
        {
            return await InitializeStreamLoadAsync(tenant, cancellationToken).ConfigureAwait(false);
        }

        if (tenant.Sink.IsServer)
        {
            return await InitializeServerAsync(tenant, cancellationToken).ConfigureAwait(false);
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
    /// PostgreSQL, MySQL/MariaDB and ClickHouse: the tenant's database (and PostgreSQL schema), then every table through
    /// the tenant's own sink opened with no rows, so a table is created exactly as a load would create it (the dialect's
    /// CreateTableSql, the key as primary key; ClickHouse: as sort order) and an existing one is checked the same way
    /// (drift, and on PostgreSQL and MySQL a keyed table's primary key, as a merge checks it). Then row-level security:
    /// PostgreSQL policies (<see cref="Sinks.Postgres.PostgresRowSecurity"/>), MySQL definer views
    /// (<see cref="Sinks.MySql.MySqlSecureViews"/>); ClickHouse 18.16 has none (the config reader refuses rls there).
    /// </summary>
    private static async Task<IReadOnlyList<string>> InitializeServerAsync(TenantConfig tenant, CancellationToken cancellationToken)
    {
        var created = new List<string>();
        var first = tenant.Tables.Values.First();
        var database = TenantJobRunner.ServerDatabase(tenant.Sink);
        switch (tenant.Sink.Kind)
        {
            case "postgres":
                var postgres = TenantJobRunner.PostgresOptions(tenant, first);
                await Sinks.Postgres.PostgresRowSecurity.CreateDatabaseAsync(postgres.ConnectionString, postgres.Schema, cancellationToken).ConfigureAwait(false);
                created.Add($"database {database} (schema {postgres.Schema})");
                break;
            case "mysql":
                await Sinks.MySql.MySqlSecureViews.CreateDatabaseAsync(TenantJobRunner.MySqlOptions(tenant, first).ConnectionString, cancellationToken).ConfigureAwait(false);
                created.Add($"database {database}");
                break;
            default:
                var clickhouse = TenantJobRunner.ClickHouseOptions(tenant, first);
                await Sinks.ClickHouse.ClickHouseSink.RunStatementAsync(
                    clickhouse, $"CREATE DATABASE IF NOT EXISTS {Sinks.ClickHouse.ClickHouseDialect.Instance.Quote(clickhouse.Database)}", cancellationToken).ConfigureAwait(false);
                created.Add($"database {database}");
                break;
        }

        foreach (var table in tenant.Tables.Values)
        {
            var schema = new TableTransform(table.Spec, DateOnly.FromDateTime(DateTime.Today), tenant.Id).OutputSchema;
            var checksKey = table.Key.Count > 0 && tenant.Sink.Kind != "clickhouse";
            var sink = TenantJobRunner.CreateSink(tenant, table, checksKey ? StepMode.Merge : StepMode.Append);
            await using (sink.ConfigureAwait(false))
            {
                await sink.OpenAsync(schema, cancellationToken).ConfigureAwait(false);
                await sink.CompleteAsync(cancellationToken).ConfigureAwait(false);
            }

            created.Add(table.Key.Count > 0 ? $"table {table.Name} (key {string.Join(", ", table.Key)})" : $"table {table.Name}");
        }

        if (tenant.Rls is not { } rls)
        {
            return created;
        }

        switch (tenant.Sink.Kind)
        {
            case "postgres":
                var postgres = TenantJobRunner.PostgresOptions(tenant, first);
                await Sinks.Postgres.PostgresRowSecurity.CreateAccessTableAsync(postgres.ConnectionString, postgres.Schema, rls.AccessTable, rls.Readers, cancellationToken).ConfigureAwait(false);
                created.Add($"table {rls.AccessTable}");
                foreach (var view in rls.Views)
                {
                    // Native RLS filters the table itself: readers query the table, and the view name is not used.
                    await Sinks.Postgres.PostgresRowSecurity.EnableAsync(postgres.ConnectionString, postgres.Schema, view.Table, view.Column, rls.AccessTable, rls.Readers, cancellationToken).ConfigureAwait(false);
                    created.Add($"row-level security on {view.Table} (by {view.Column})");
                }

                break;
            case "mysql":
                var mysql = TenantJobRunner.MySqlOptions(tenant, first).ConnectionString;
                await Sinks.MySql.MySqlSecureViews.CreateAccessTableAsync(mysql, rls.AccessTable, cancellationToken).ConfigureAwait(false);
                created.Add($"table {rls.AccessTable}");
                foreach (var view in rls.Views)
                {
                    await Sinks.MySql.MySqlSecureViews.CreateViewAsync(mysql, rls.AccessTable, view.Table, view.View, view.Column, rls.Readers, cancellationToken).ConfigureAwait(false);
                    created.Add($"view {view.View} ({view.Table} by {view.Column})");
                }

                break;
            default:
                throw new NotSupportedException($"{tenant.Id}: rls: ClickHouse 18.16 has no row-level security");
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
