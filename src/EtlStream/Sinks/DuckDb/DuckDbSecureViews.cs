using DuckDB.NET.Data;

namespace EtlStream.Sinks.DuckDb;

/// <summary>
/// Row-level security on DuckDB, which has no users of its own: a secure view keeps the rows whose restricting
/// column holds a value the current user is mapped to in the access table, and "the current user" is the
/// session variable a client sets (<c>SET VARIABLE etlstream_user = 'alice'</c>). Servers get native RLS in their sinks.
/// </summary>
internal static class DuckDbSecureViews
{
    /// <summary>The access table: which user may see which values of which column.</summary>
    public static void CreateAccessTable(string databasePath, string accessTable)
    {
        using var connection = Open(databasePath);
        Execute(connection, $"CREATE TABLE IF NOT EXISTS {DuckDbSink.QuoteIdentifier(accessTable)} (user_name VARCHAR NOT NULL, column_name VARCHAR NOT NULL, allowed_value VARCHAR NOT NULL)");
    }

    public static void CreateView(string databasePath, string accessTable, string userVariable, string table, string view, string column)
    {
        using var connection = Open(databasePath);
        var q = DuckDbSink.QuoteIdentifier;
        Execute(connection, $"""
            CREATE OR REPLACE VIEW {q(view)} AS
            SELECT t.* FROM {q(table)} t
            WHERE t.{q(column)} IN (
              SELECT a.allowed_value FROM {q(accessTable)} a
              WHERE a.user_name = getvariable('{userVariable.Replace("'", "''", StringComparison.Ordinal)}')
                AND a.column_name = '{column.Replace("'", "''", StringComparison.Ordinal)}')
            """);
    }

    private static DuckDBConnection Open(string databasePath)
    {
        var connection = new DuckDBConnection(DuckDbSinkOptions.ConnectionString(databasePath));
        connection.Open();
        return connection;
    }

    private static void Execute(DuckDBConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }
}
