using DuckDB.NET.Data;

namespace EtlStream.Tests.Support;

/// <summary>Runs SQL on DuckDB and returns plain rows: an independent reader for sink output (Parquet via read_parquet, DuckDB files).</summary>
public static class DuckDbQuery
{
    /// <summary>Rows of <paramref name="sql"/> on an in-memory database (use read_parquet('...') to read files).</summary>
    public static List<object?[]> Rows(string sql) => Rows(databasePath: null, sql);

    /// <summary>Rows of <paramref name="sql"/> on the given database file (read-only), or in memory when null. DBNull becomes null.</summary>
    public static List<object?[]> Rows(string? databasePath, string sql)
    {
        using var connection = Open(databasePath);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<object?[]>();
        while (reader.Read())
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

    /// <summary>The single value of <paramref name="sql"/>.</summary>
    public static object? Scalar(string? databasePath, string sql) => Rows(databasePath, sql).Single()[0];

    /// <summary>(column name, DuckDB type name) of a relation: a table name or e.g. <c>read_parquet('x.parquet')</c>.</summary>
    public static List<(string Name, string Type)> Describe(string? databasePath, string relation)
    {
        var columns = new List<(string, string)>();
        foreach (var row in Rows(databasePath, $"DESCRIBE SELECT * FROM {relation}"))
        {
            columns.Add(((string)row[0]!, (string)row[1]!));
        }

        return columns;
    }

    /// <summary>A SQL string literal for a path.</summary>
    public static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";

    private static DuckDBConnection Open(string? databasePath)
    {
        var connection = new DuckDBConnection(databasePath is null ? "Data Source=:memory:" : new DuckDBConnectionStringBuilder { DataSource = databasePath, ["ACCESS_MODE"] = "READ_ONLY" }.ConnectionString);
        connection.Open();
        return connection;
    }
}
