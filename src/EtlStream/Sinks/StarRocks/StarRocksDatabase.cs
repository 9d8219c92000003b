using Apache.Arrow;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>A table <c>init-db</c> creates: its columns (engine schema) and key.</summary>
internal sealed record StarRocksTableDefinition(string Name, Schema Schema, IReadOnlyList<string> Key);

/// <summary>
/// <c>init-db</c> for StarRocks/Doris through the FE's MySQL port: the database, each table from its spec (DUPLICATE or
/// PRIMARY KEY model, hash distribution, properties), read back from <c>information_schema</c> to verify.
/// Existing tables are checked, never dropped.
/// </summary>
internal static class StarRocksDatabase
{
    public static async Task<IReadOnlyList<string>> InitializeAsync(
        MySqlConnection connection, SqlDialect dialect, string database, IReadOnlyList<StarRocksTableDefinition> tables, StarRocksTableLayout? layout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(tables);
        var done = new List<string>();
        await ExecuteAsync(connection, StarRocksSql.CreateDatabase(database), cancellationToken).ConfigureAwait(false);
        foreach (var table in tables)
        {
            await ExecuteAsync(connection, StarRocksSql.CreateTable(dialect, database, table.Name, table.Schema, table.Key, layout), cancellationToken).ConfigureAwait(false);
            var live = await StarRocksSql.ReadColumnsAsync(connection, database, table.Name, cancellationToken).ConfigureAwait(false);
            var (errors, _) = StarRocksSql.Compare(table.Schema, live, $"{database}.{table.Name}");
            if (errors.Count > 0)
            {
                throw new Tables.ConfigException(errors);
            }

            done.Add($"table {database}.{table.Name} ({live.Count} columns)");
        }

        return done;
    }

    public static async Task ExecuteAsync(MySqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var cmd = new MySqlCommand(sql, connection);
        await cmd.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
