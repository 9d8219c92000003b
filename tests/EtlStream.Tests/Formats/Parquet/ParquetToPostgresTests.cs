using EtlStream.Pipeline;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats.Parquet;

/// <summary>Parquet into PostgreSQL: the typed columns land with their values, read back by the server itself.</summary>
[Collection(PostgresCollection.Name)]
public sealed class ParquetToPostgresTests(PostgresServer server) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Typed_parquet_columns_land_in_postgres_with_exact_values()
    {
        var input = ParquetInputTests.WriteTypedParquet(_dir.File("typed.parquet"));
        var database = await server.CreateDatabaseAsync("parquetin");
        var spec = TableSpecReader.Read("""
            table: typed
            columns:
              - { name: i64, type: int64, source: i32 }
              - { name: dec2, type: "decimal(12,2)", source: dec3 }
              - { name: ts_us, type: timestamp }
              - { name: d, type: date }
              - { name: name, type: string }
              - { name: flag, type: bool }
              - { name: big, type: int64 }
            """, "typed.yaml");

        await using (var sink = new EtlStream.Sinks.Postgres.PostgresSink(new EtlStream.Sinks.Postgres.PostgresSinkOptions { ConnectionString = server.ConnectionString(database), Table = "typed" }))
        {
            var result = await new LoadPipeline(new LoadOptions()).RunAsync(LocalFileSource.List(input), spec, sink, default);
            Assert.Equal(6L, result.RowsLoaded);
        }

        var rows = await server.RowsAsync("SELECT i64, dec2::text, ts_us::text, d::text, name, flag, big FROM typed ORDER BY i64 NULLS LAST", database);
        Assert.Equal(
            [
                [-2147483648L, "-0.01", "1969-12-31 23:59:59.5", "1969-12-31", "Ünïcødé, \"quoted\"", false, -1L],
                [0L, "0.02", "0001-01-01 00:00:00", "0001-01-01", "tab\tand\nnewline", false, -9223372036854775808L],
                [1L, "12.35", "2024-02-29 13:45:06.789012", "2024-02-29", "ann", true, 9000000000L],
                [7L, "-1.24", "2000-01-01 00:00:00.000001", "2000-01-01", "z", null, 5L],
                [2147483647L, "10000000.00", "2262-04-11 23:47:16", "9999-12-31", "", true, 9223372036854775807L],
                new object?[7],
            ],
            rows);
    }
}
