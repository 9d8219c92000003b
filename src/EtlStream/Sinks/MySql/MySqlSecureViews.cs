using MySqlConnector;

namespace EtlStream.Sinks.MySql;

/// <summary>
/// Row-level security on MySQL/MariaDB, which have no row policies: a <c>SQL SECURITY DEFINER</c> view keeps the rows
/// whose restricting column holds a value the access table maps the connected user to, and readers are granted the
/// view only, never the table. Inside a definer view <c>CURRENT_USER()</c> is the definer, so the filter uses
/// <c>USER()</c>, the account the client logged in as. The view names the table, so the sink's rename-swap refresh
/// leaves it pointing at the new content.
/// </summary>
internal static class MySqlSecureViews
{
    /// <summary>The connection string's database, created when missing.</summary>
    public static async Task CreateDatabaseAsync(string connectionString, CancellationToken cancellationToken)
    {
        var database = new MySqlConnectionStringBuilder(connectionString).Database;
        await ExecuteAsync(new MySqlConnectionStringBuilder(connectionString) { Database = string.Empty }.ConnectionString,
            $"CREATE DATABASE IF NOT EXISTS {MySqlDialect.Instance.Quote(database)} DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", cancellationToken).ConfigureAwait(false);
    }

    public static async Task CreateAccessTableAsync(string connectionString, string accessTable, CancellationToken cancellationToken) =>
        await ExecuteAsync(connectionString,
            $"CREATE TABLE IF NOT EXISTS {MySqlDialect.Instance.Quote(accessTable)} " +
            "(user_name varchar(128) NOT NULL, column_name varchar(128) NOT NULL, allowed_value varchar(255) NOT NULL)" +
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin",
            cancellationToken).ConfigureAwait(false);

    /// <summary>Creates (or replaces) <paramref name="view"/> over <paramref name="table"/> and grants it, only it, to <paramref name="readers"/> (user names, any host).</summary>
    public static async Task CreateViewAsync(
        string connectionString, string accessTable, string table, string view, string column, IReadOnlyList<string> readers, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(readers);
        var d = MySqlDialect.Instance;
        var database = new MySqlConnectionStringBuilder(connectionString).Database;
        var sql = $"""
            CREATE OR REPLACE SQL SECURITY DEFINER VIEW {d.Quote(view)} AS
            SELECT t.* FROM {d.Quote(table)} t
            WHERE t.{d.Quote(column)} IN (
              SELECT a.allowed_value FROM {d.Quote(accessTable)} a
              WHERE a.user_name = SUBSTRING_INDEX(USER(), '@', 1) AND a.column_name = {d.Literal(column)});
            """;
        foreach (var reader in readers)
        {
            sql += $"GRANT SELECT ON {d.Quote(database)}.{d.Quote(view)} TO {d.Literal(reader)}@'%';\n";
        }

        await ExecuteAsync(connectionString, sql, cancellationToken).ConfigureAwait(false);
    }

    private static async Task ExecuteAsync(string connectionString, string sql, CancellationToken cancellationToken)
    {
        await using var connection = new MySqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
