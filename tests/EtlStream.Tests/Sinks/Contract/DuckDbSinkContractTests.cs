using Apache.Arrow;
using EtlStream.Sinks;
using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks.Sql;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks.Contract;

public sealed class DuckDbSinkContractTests : SqlSinkContractTests
{
    private string Db => Dir.File("warehouse.duckdb");

    protected override string ExpectedAmountDrift => "column \"amount\" is DECIMAL(18,2) in the table but DECIMAL(20,4) in the data";

    protected override IBatchSink CreateSink(string table, SqlWriteMode mode, IReadOnlyList<string> key, int concurrency) =>
        new DuckDbSink(new DuckDbSinkOptions
        {
            DatabasePath = Db,
            Table = table,
            Mode = mode switch { SqlWriteMode.Replace => DuckDbWriteMode.Replace, SqlWriteMode.Merge => DuckDbWriteMode.Merge, _ => DuckDbWriteMode.Append },
            Key = key,
        });

    protected override string Describe(string table) => $"DuckDB table \"{table}\"";

    protected override Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema) =>
        Task.FromResult(File.Exists(Db) && DuckDbQuery.Rows(Db, $"SELECT count(*) FROM information_schema.tables WHERE table_name = {DuckDbQuery.Literal(table)}")[0][0] is 1L
            ? DuckDbQuery.Rows(Db, $"SELECT * FROM {DuckDbSink.QuoteIdentifier(table)}")
            : null);

    protected override Task<List<string>> TableNamesAsync() =>
        Task.FromResult(DuckDbQuery.Rows(Db, "SELECT table_name FROM information_schema.tables ORDER BY 1").Select(r => (string)r[0]!).ToList());
}
