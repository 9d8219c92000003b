using System.Data.Common;

namespace EtlStream.Tests.Support;

/// <summary>Every row a query returns, as values (DBNull as null), whatever the database's client.</summary>
internal static class DbRows
{
    public static async Task<List<object?[]>> ReadAsync(DbConnection connection, string sql)
    {
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<object?[]>();
        while (await reader.ReadAsync())
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }
}
