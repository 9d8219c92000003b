using System.Globalization;
using DuckDB.NET.Data;

namespace EtlStream.Benchmarks;

/// <summary>
/// Child processes for perf/duckdb-sink.sh: DuckDB's own load of the standard job into a table of a database file
/// (the peer of <c>etlstream load … --to duckdb:</c>), and the check that two such tables hold the same rows.
/// </summary>
internal static class DuckDbTableHarness
{
    /// <summary>DuckDB with 2 threads: <c>CREATE TABLE f AS</c> the standard job's query, in <paramref name="database"/>.</summary>
    public static int Load(string file, string database, string table)
    {
        using var connection = new DuckDBConnection($"Data Source={database}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SET threads = 2; CREATE TABLE \"{table}\" AS {StandardJobHarness.StandardJobSelect(file)}";
        command.ExecuteNonQuery();
        return 0;
    }

    /// <summary>
    /// Prints the row count, sum(qty) and sum(gross_amount) of both tables and the rows each has that the other has
    /// not (EXCEPT ALL both ways); exit code 1 when they differ.
    /// </summary>
    public static int Compare(string left, string right, string table)
    {
        using var connection = new DuckDBConnection("Data Source=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"ATTACH '{left.Replace("'", "''", StringComparison.Ordinal)}' AS l (READ_ONLY); ATTACH '{right.Replace("'", "''", StringComparison.Ordinal)}' AS r (READ_ONLY);";
        command.ExecuteNonQuery();
        long Scalar(string sql)
        {
            command.CommandText = sql;
            return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        string Figures(string db)
        {
            command.CommandText = $"SELECT count(*), sum(qty)::BIGINT, sum(gross_amount)::DECIMAL(38,2) FROM {db}.\"{table}\"";
            using var reader = command.ExecuteReader();
            reader.Read();
            return string.Create(CultureInfo.InvariantCulture, $"{reader.GetInt64(0):N0} rows, sum(qty) {reader.GetInt64(1):N0}, sum(gross_amount) {reader.GetDecimal(2):N2}");
        }

        var onlyLeft = Scalar($"SELECT count(*) FROM (SELECT * FROM l.\"{table}\" EXCEPT ALL SELECT * FROM r.\"{table}\")");
        var onlyRight = Scalar($"SELECT count(*) FROM (SELECT * FROM r.\"{table}\" EXCEPT ALL SELECT * FROM l.\"{table}\")");
        var figures = Figures("l");
        Console.WriteLine(onlyLeft == 0 && onlyRight == 0 && figures == Figures("r")
            ? $"Same table content from EtlStream and DuckDB (EXCEPT ALL both ways empty): {figures}."
            : $"TABLES DIFFER: {onlyLeft} rows only in {left}, {onlyRight} only in {right}; {figures} against {Figures("r")}.");
        return onlyLeft == 0 && onlyRight == 0 ? 0 : 1;
    }
}
