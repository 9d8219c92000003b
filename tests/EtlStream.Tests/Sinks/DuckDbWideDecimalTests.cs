using System.Globalization;
using System.Text;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sinks.DuckDb;
using EtlStream.Sinks.Parquet;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Cli;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

/// <summary>
/// DECIMAL columns wider than System.Decimal (precision 29–38) through the DuckDB sink, end to end from CSV, read
/// back by DuckDB as text so that no value passes through a .NET decimal or double on the way out.
/// </summary>
public sealed class DuckDbWideDecimalTests : IDisposable
{
    private const string SpecYaml = """
        table: wide
        columns:
          - { name: id,     type: int32, nullable: false }
          - { name: amount, type: "decimal(38,2)" }
          - { name: fast,   type: "decimal(18,2)" }
          - { name: frac,   type: "decimal(38,38)" }
        """;

    private const string Csv = """
        id,amount,fast,frac
        1,123456789012345678901234567890.12,1.50,0.12345678901234567890123456789012345678
        2,-123456789012345678901234567890.12,-2.25,-0.00000000000000000000000000000000000001
        3,999999999999999999999999999999999999.99,0,0
        4,-999999999999999999999999999999999999.99,,0.99999999999999999999999999999999999999
        5,,3.00,
        6,0.05,,-0.5
        7,-0.01,9999999999999999.99,0.00000000000000000000000000000000000001
        8,100000000000000000000000000000,-9999999999999999.99,-0.99999999999999999999999999999999999999

        """;

    /// <summary>As DuckDB casts them to text: DECIMAL(38,38) without a zero before the point.</summary>
    private static readonly string[][] Expected =
    [
        ["1", "123456789012345678901234567890.12", "1.50", ".12345678901234567890123456789012345678"],
        ["2", "-123456789012345678901234567890.12", "-2.25", "-.00000000000000000000000000000000000001"],
        ["3", "999999999999999999999999999999999999.99", "0.00", ".00000000000000000000000000000000000000"],
        ["4", "-999999999999999999999999999999999999.99", "NULL", ".99999999999999999999999999999999999999"],
        ["5", "NULL", "3.00", "NULL"],
        ["6", "0.05", "NULL", "-.50000000000000000000000000000000000000"],
        ["7", "-0.01", "9999999999999999.99", ".00000000000000000000000000000000000001"],
        ["8", "100000000000000000000000000000.00", "-9999999999999999.99", "-.99999999999999999999999999999999999999"],
    ];

    private const string AsText =
        "SELECT CAST(id AS VARCHAR), coalesce(CAST(amount AS VARCHAR), 'NULL'), coalesce(CAST(fast AS VARCHAR), 'NULL'), coalesce(CAST(frac AS VARCHAR), 'NULL') FROM {0} ORDER BY id";

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Db => _dir.File("wide.duckdb");

    private static TableSpec Spec => TableSpecReader.Read(SpecYaml, "wide.yaml");

    private async Task<LoadResult> LoadAsync(string csv, IBatchSink sink, string name = "wide.csv")
    {
        var path = _dir.File(Path.Combine("in", name));
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, csv.ReplaceLineEndings("\n"));
        await using (sink)
        {
            return await new LoadPipeline(new LoadOptions()).RunAsync(LocalFileSource.List(path), Spec, sink, default);
        }
    }

    private static string[][] Text(string? database, string relation) =>
        DuckDbQuery.Rows(database, string.Format(CultureInfo.InvariantCulture, AsText, relation))
            .Select(r => r.Select(v => (string)v!).ToArray()).ToArray();

    [Fact]
    public async Task Decimal38_values_beyond_System_Decimal_load_exactly_with_negatives_the_maximum_and_nulls()
    {
        var result = await LoadAsync(Csv, new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide" }));

        Assert.Equal((8L, 8L, 0L), (result.RowsRead, result.RowsLoaded, result.RowsRejected));
        Assert.Equal([("id", "INTEGER"), ("amount", "DECIMAL(38,2)"), ("fast", "DECIMAL(18,2)"), ("frac", "DECIMAL(38,38)")], DuckDbQuery.Describe(Db, "wide"));
        Assert.Equal(Expected, Text(Db, "wide"));
        Assert.Equal(["wide"], DuckDbQuery.Rows(Db, "SELECT table_name FROM information_schema.tables ORDER BY 1").Select(r => (string)r[0]!));
    }

    [Fact]
    public async Task The_same_file_loads_the_same_values_into_duckdb_and_parquet()
    {
        var parquet = _dir.File("wide.parquet");
        await LoadAsync(Csv, new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide" }));
        await LoadAsync(Csv, new ParquetSink(new ParquetSinkOptions { Path = parquet }));

        Assert.Equal(Text(null, $"read_parquet({DuckDbQuery.Literal(parquet)})"), Text(Db, "wide"));
    }

    [Fact]
    public async Task Many_wide_rows_across_appender_chunks_sum_exactly()
    {
        // 5,000 rows: more than two of the appender's 2,048-row chunks, and a sum no double could hold. DuckDB
        // writes DECIMAL(38,38) as text without the leading zero.
        var csv = new StringBuilder("id,amount,fast,frac\n");
        for (var i = 1; i <= 5000; i++)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{i},{(i % 7 == 0 ? "-" : "")}1234567890123456789012345678{i % 100:D2}.{i % 100:D2},{i}.01,0.{i:D38}\n");
        }

        await LoadAsync(csv.ToString(), new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide" }));

        var expected = 0m;
        var expectedBig = System.Numerics.BigInteger.Zero;
        for (var i = 1; i <= 5000; i++)
        {
            var cents = System.Numerics.BigInteger.Parse($"1234567890123456789012345678{i % 100:D2}{i % 100:D2}", CultureInfo.InvariantCulture);
            expectedBig += i % 7 == 0 ? -cents : cents;
            expected += i + 0.01m;
        }

        var row = DuckDbQuery.Rows(Db, "SELECT count(*), CAST(sum(amount) AS VARCHAR), CAST(sum(fast) AS VARCHAR), CAST(max(frac) AS VARCHAR) FROM wide").Single();
        var whole = System.Numerics.BigInteger.DivRem(System.Numerics.BigInteger.Abs(expectedBig), 100, out var fraction);
        Assert.Equal(
            [5000L, $"{(expectedBig < 0 ? "-" : "")}{whole}.{fraction:D2}", expected.ToString("F2", CultureInfo.InvariantCulture), $".{5000:D38}"],
            row);
    }

    [Theory]
    [InlineData(DuckDbWriteMode.Merge)]
    [InlineData(DuckDbWriteMode.Replace)]
    public async Task Merge_and_replace_carry_wide_decimals_exactly(DuckDbWriteMode mode)
    {
        await LoadAsync(Csv, new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide", Mode = DuckDbWriteMode.Append }));
        const string second = """
            id,amount,fast,frac
            2,-555555555555555555555555555555555555.55,7.00,0.5
            9,12345678901234567890123456789.01,,

            """;

        await LoadAsync(second, new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide", Mode = mode, Key = ["id"] }), "second.csv");

        string[] two = ["2", "-555555555555555555555555555555555555.55", "7.00", ".50000000000000000000000000000000000000"];
        string[] nine = ["9", "12345678901234567890123456789.01", "NULL", "NULL"];
        string[][] expected = mode == DuckDbWriteMode.Replace
            ? [two, nine]
            : [Expected[0], two, .. Expected[2..], nine];
        Assert.Equal(expected, Text(Db, "wide"));
        Assert.Equal(["wide"], DuckDbQuery.Rows(Db, "SELECT table_name FROM information_schema.tables ORDER BY 1").Select(r => (string)r[0]!));
    }

    [Fact]
    public async Task A_failed_run_with_wide_decimals_adds_nothing_and_leaves_no_staging_table()
    {
        await LoadAsync(Csv, new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide" }));
        var sink = new DuckDbSink(new DuckDbSinkOptions { DatabasePath = Db, Table = "wide" });

        // The second file's bad header fails the run after the first file's rows were appended.
        var path = _dir.File("fail/a.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, Csv.ReplaceLineEndings("\n"));
        await File.WriteAllTextAsync(_dir.File("fail/b.csv"), "id,amount,fast,frac\n1,not-a-number,1,0\n");
        await using (sink)
        {
            var spec = TableSpecReader.Read(SpecYaml.Replace("table: wide", "table: wide\non_error: fail_file", StringComparison.Ordinal), "wide.yaml");
            var e = await Assert.ThrowsAnyAsync<Exception>(() => new LoadPipeline(new LoadOptions { ParallelFiles = 1 }).RunAsync(LocalFileSource.List(_dir.File("fail")), spec, sink, default));
            Assert.EndsWith("b.csv:2:2: column 'amount': cannot convert 'not-a-number' to decimal(38,2): not a decimal number", e.Message);
        }

        Assert.Equal(Expected, Text(Db, "wide"));
        Assert.Equal(["wide"], DuckDbQuery.Rows(Db, "SELECT table_name FROM information_schema.tables ORDER BY 1").Select(r => (string)r[0]!));
    }

    [Fact]
    public async Task The_load_command_loads_decimal38_into_duckdb()
    {
        await File.WriteAllTextAsync(_dir.File("wide.yaml"), SpecYaml);
        await File.WriteAllTextAsync(_dir.File("wide.csv"), Csv.ReplaceLineEndings("\n"));

        var (code, _, stderr) = await CliTests.RunAsync(_dir.Path, "load", _dir.File("wide.csv"), "--table", _dir.File("wide.yaml"), "--to", $"duckdb:{Db}");

        Assert.True(code == 0, stderr);
        Assert.Equal(Expected, Text(Db, "wide"));
    }
}
