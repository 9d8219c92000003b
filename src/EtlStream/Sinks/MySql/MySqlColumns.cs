using System.Globalization;
using MySqlConnector;

namespace EtlStream.Sinks.MySql;

/// <summary>A column as <c>information_schema.columns</c> has it on a server of the MySQL protocol (MySQL, MariaDB, StarRocks, Doris).</summary>
/// <param name="DataType">The type's name in capitals (<c>VARCHAR</c>).</param>
/// <param name="ColumnType">The full type as the server writes it (<c>varchar(40)</c>, <c>decimal(18,2)</c>).</param>
/// <param name="MaxLength">A string column's length (StarRocks: in bytes); null for other types.</param>
internal readonly record struct MySqlColumn(string Name, string DataType, string ColumnType, long? MaxLength, bool Nullable);

/// <summary>The one reader of a table's live columns for the MySQL-protocol sinks (MySQL/MariaDB and StarRocks/Doris).</summary>
internal static class MySqlColumns
{
    /// <summary>The columns of <paramref name="database"/>.<paramref name="table"/> in table order; none when there is no such table.</summary>
    public static async Task<List<MySqlColumn>> ReadAsync(MySqlConnection connection, string database, string table, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(connection);
        await using var command = new MySqlCommand(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE FROM information_schema.columns " +
            "WHERE TABLE_SCHEMA = @db AND TABLE_NAME = @t ORDER BY ORDINAL_POSITION", connection);
        command.Parameters.AddWithValue("@db", database);
        command.Parameters.AddWithValue("@t", table);
        var columns = new List<MySqlColumn>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            columns.Add(new MySqlColumn(
                reader.GetString(0),
                reader.GetString(1).ToUpperInvariant(),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : Convert.ToInt64(reader.GetValue(3), CultureInfo.InvariantCulture),
                reader.GetString(4).Equals("YES", StringComparison.OrdinalIgnoreCase)));
        }

        return columns;
    }
}
