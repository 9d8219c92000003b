using Npgsql;

namespace EtlStream.Sinks.Postgres;

/// <summary>
/// Native row-level security: a table's rows are visible to a database role only where the restricting column holds
/// a value the access table maps that role (<c>current_user</c>) to. The access table has a policy of its own, so a
/// role sees only its own mappings. Policies belong to the table, and <see cref="PostgresSink"/>'s refresh keeps the
/// table (truncate and refill), so a refresh keeps them.
/// </summary>
internal static class PostgresRowSecurity
{
    private const string Policy = "etlstream_rls";

    /// <summary>
    /// The connection string's database, created from the server's <c>postgres</c> database when missing (PostgreSQL has
    /// no CREATE DATABASE IF NOT EXISTS, nor CREATE DATABASE inside a transaction), and <paramref name="schema"/> in it.
    /// </summary>
    public static async Task CreateDatabaseAsync(string connectionString, string schema, CancellationToken cancellationToken)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var database = builder.Database ?? throw new ArgumentException("postgres: the connection string names no database", nameof(connectionString));
        await using (var server = await PostgresSink.OpenAsync(new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Database = "postgres" }.ConnectionString), cancellationToken).ConfigureAwait(false))
        {
            await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = $1", server);
            exists.Parameters.Add(new NpgsqlParameter { Value = database });
            if ((long)(await exists.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))! == 0)
            {
                await using var create = new NpgsqlCommand($"CREATE DATABASE {PostgresDialect.Instance.Quote(database)}", server);
                await create.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }

        await ExecuteAsync(connectionString, $"CREATE SCHEMA IF NOT EXISTS {PostgresDialect.Instance.Quote(schema)}", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The access table (user_name, column_name, allowed_value), readable by <paramref name="readers"/> row by row.</summary>
    public static async Task CreateAccessTableAsync(string connectionString, string schema, string accessTable, IReadOnlyList<string> readers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(readers);
        var q = PostgresDialect.Instance.Quote;
        var table = q(schema) + "." + q(accessTable);
        var sql = $"""
            CREATE TABLE IF NOT EXISTS {table} (user_name text NOT NULL, column_name text NOT NULL, allowed_value text NOT NULL);
            ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
            DROP POLICY IF EXISTS {Policy} ON {table};
            CREATE POLICY {Policy} ON {table} FOR SELECT USING (user_name = current_user);
            """;
        foreach (var reader in readers)
        {
            sql += $"GRANT USAGE ON SCHEMA {q(schema)} TO {q(reader)}; GRANT SELECT ON {table} TO {q(reader)};\n";
        }

        await ExecuteAsync(connectionString, sql, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Enables RLS on <paramref name="table"/> filtered by <paramref name="column"/>, and lets <paramref name="readers"/> select from it.</summary>
    public static async Task EnableAsync(
        string connectionString, string schema, string table, string column, string accessTable, IReadOnlyList<string> readers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(readers);
        var d = PostgresDialect.Instance;
        var target = d.Quote(schema) + "." + d.Quote(table);
        var access = d.Quote(schema) + "." + d.Quote(accessTable);
        var sql = $"""
            ALTER TABLE {target} ENABLE ROW LEVEL SECURITY;
            DROP POLICY IF EXISTS {Policy} ON {target};
            CREATE POLICY {Policy} ON {target} FOR SELECT USING (
              {d.Quote(column)}::text IN (SELECT a.allowed_value FROM {access} a
                WHERE a.user_name = current_user AND a.column_name = {d.Literal(column)}));
            """;
        foreach (var reader in readers)
        {
            sql += $"GRANT SELECT ON {target} TO {d.Quote(reader)};\n";
        }

        await ExecuteAsync(connectionString, sql, cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresSink.OpenAsync(new NpgsqlConnection(connectionString), cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
