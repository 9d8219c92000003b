using System.IO.Compression;
using System.Text;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Generation;

public sealed class TenantDataGeneratorTests : IDisposable
{
    private const int Seed = 42;
    private const long InvoiceRows = 20_000;
    private static readonly DateOnly Day = new(2026, 11, 24);
    private static readonly string Schemas = Path.Combine(RepoPaths.Root, "configs", "schemas");

    private static readonly string[] Dimensions = ["dealers", "products", "salesmen", "territories"];

    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string FileName(string table, DateOnly day) => $"{table}_{day:yyyy-MM-dd}.csv.gz";

    private Task<IReadOnlyDictionary<string, long>> WriteAsync(string subfolder, DateOnly day, int seed = Seed, long rows = InvoiceRows) =>
        TenantDataGenerator.WriteDayAsync(_dir.File(subfolder), day, seed, rows, CancellationToken.None);

    [Fact]
    public async Task Writes_the_five_files_with_their_exact_names()
    {
        await WriteAsync("a", Day);

        string[] expected = ["dealers_2026-11-24.csv.gz", "invoices_2026-11-24.csv.gz", "products_2026-11-24.csv.gz",
            "salesmen_2026-11-24.csv.gz", "territories_2026-11-24.csv.gz"];
        Assert.Equal(expected, Directory.GetFiles(_dir.File("a")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Same_date_and_seed_give_identical_bytes()
    {
        await WriteAsync("a", Day);
        await WriteAsync("b", Day);

        foreach (string table in TenantDataGenerator.Tables)
        {
            Assert.Equal(File.ReadAllBytes(_dir.File($"a/{FileName(table, Day)}")), File.ReadAllBytes(_dir.File($"b/{FileName(table, Day)}")));
        }
    }

    [Fact]
    public async Task Returned_counts_are_the_files_record_counts()
    {
        IReadOnlyDictionary<string, long> counts = await WriteAsync("a", Day);

        Assert.Equal(TenantDataGenerator.Tables.Order(StringComparer.Ordinal), counts.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(InvoiceRows, counts["invoices"]);
        Assert.Equal(TenantDataGenerator.DealerCount, counts["dealers"]);
        Assert.Equal(TenantDataGenerator.ProductCount, counts["products"]);
        Assert.Equal(TenantDataGenerator.SalesmanCount, counts["salesmen"]);
        Assert.Equal(TenantDataGenerator.TerritoryCount, counts["territories"]);
        foreach (string table in TenantDataGenerator.Tables)
        {
            List<string[]> records = ReadRecords(_dir.File($"a/{FileName(table, Day)}"));
            Assert.Equal(counts[table], records.Count - 1);
        }
    }

    [Fact]
    public async Task Dimensions_keep_their_keys_from_day_to_day()
    {
        IReadOnlyDictionary<string, long> first = await WriteAsync("a", Day, rows: 10);
        IReadOnlyDictionary<string, long> next = await WriteAsync("b", Day.AddDays(1), rows: 10);

        Assert.Equal(first, next);
        foreach (string table in Dimensions)
        {
            Assert.Equal(
                ReadRecords(_dir.File($"a/{FileName(table, Day)}")).Select(r => r[0]),
                ReadRecords(_dir.File($"b/{FileName(table, Day.AddDays(1))}")).Select(r => r[0]));
        }
    }

    [Fact]
    public async Task Dimension_keys_join_with_the_invoices()
    {
        await WriteAsync("a", Day);
        List<string[]> invoices = ReadRecords(_dir.File($"a/{FileName("invoices", Day)}")).Skip(1).ToList();
        var dealerTerritory = invoices.Select(r => (r[2], r[4].Trim(), r[5].Trim())).ToHashSet();
        var productCategory = invoices.Select(r => (r[6], r[8].Trim())).ToHashSet();
        var salesmen = invoices.Select(r => r[16]).ToHashSet(StringComparer.Ordinal);
        var territories = invoices.Select(r => (r[4].Trim(), r[5].Trim())).ToHashSet();

        // Dealers and products are the first distinct ones of the seed's invoice stream, so the file's head holds them.
        Assert.All(ReadRecords(_dir.File($"a/{FileName("dealers", Day)}")).Skip(1), d => Assert.Contains((d[0], d[2], d[3]), dealerTerritory));
        Assert.All(ReadRecords(_dir.File($"a/{FileName("products", Day)}")).Skip(1), p => Assert.Contains((p[0], p[2]), productCategory));
        Assert.All(ReadRecords(_dir.File($"a/{FileName("salesmen", Day)}")).Skip(1), s => Assert.Contains(s[0], salesmen));
        List<string[]> territoryRows = ReadRecords(_dir.File($"a/{FileName("territories", Day)}")).Skip(1).ToList();
        Assert.Equal(territories, territoryRows.Select(t => (t[0], t[1])).ToHashSet());
    }

    [Theory]
    [InlineData("dealers")]
    [InlineData("products")]
    [InlineData("salesmen")]
    [InlineData("territories")]
    public async Task Dimension_header_names_every_column_its_schema_reads(string table)
    {
        await WriteAsync("a", Day, rows: 10);
        TableSpec spec = TableSpecReader.ReadFile(Path.Combine(Schemas, $"{table}.yaml"));
        string[] header = ReadRecords(_dir.File($"a/{FileName(table, Day)}"))[0];

        List<ColumnSpec> read = spec.Columns.Where(c => c.Computed is null).ToList();
        Assert.NotEmpty(read);
        Assert.All(read, c => Assert.Contains(header, h => string.Equals(h, c.SourceName, StringComparison.OrdinalIgnoreCase)));
        Assert.Equal(read.Count, header.Length);
    }

    [Theory]
    [InlineData("dealers")]
    [InlineData("products")]
    [InlineData("salesmen")]
    [InlineData("territories")]
    public async Task Dimension_file_loads_through_the_engine(string table)
    {
        IReadOnlyDictionary<string, long> counts = await WriteAsync("a", Day, rows: 10);

        LoadResult result = await LoadAsync(_dir.File($"a/{FileName(table, Day)}"), table);

        Assert.Equal(counts[table], result.RowsRead);
        Assert.Equal(counts[table], result.RowsLoaded);
        Assert.Equal(0, result.RowsRejected);
        string output = DuckDbQuery.Literal(_dir.File($"out/{table}.parquet"));
        Assert.Equal(counts[table], Convert.ToInt64(DuckDbQuery.Rows($"SELECT count(*) FROM read_parquet({output})").Single()[0]));
    }

    [Fact]
    public async Task Invoices_load_through_the_fact_schema()
    {
        IReadOnlyDictionary<string, long> counts = await WriteAsync("a", Day);
        string input = _dir.File($"a/{FileName("invoices", Day)}");

        LoadResult result = await LoadAsync(input, "fact_invoice_secondary");

        long expected = Convert.ToInt64(DuckDbQuery.Rows($"""
            SELECT count(*) FROM read_csv({DuckDbQuery.Literal(input)}, header = true, all_varchar = true)
            WHERE trim(Qty)::BIGINT <> 0
            """).Single()[0]);
        Assert.Equal(counts["invoices"], result.RowsRead);
        Assert.Equal(expected, result.RowsLoaded);
        Assert.Equal(counts["invoices"] - expected, result.RowsFiltered);
        Assert.True(result.RowsLoaded > 0.95 * InvoiceRows, $"{result.RowsLoaded} rows loaded");

        string output = DuckDbQuery.Literal(_dir.File("out/fact_invoice_secondary.parquet"));
        List<object?[]> rows = DuckDbQuery.Rows($"SELECT DISTINCT source_file, load_date, tenant_id FROM read_parquet({output})");
        object?[] only = Assert.Single(rows);
        Assert.Equal("invoices_2026-11-24.csv.gz", only[0]);
        Assert.Equal(Day, only[1]);
        Assert.Equal("acme", only[2]); // stamped by the engine
    }

    private async Task<LoadResult> LoadAsync(string input, string table)
    {
        TableSpec spec = TableSpecReader.ReadFile(Path.Combine(Schemas, $"{table}.yaml"));
        var pipeline = new LoadPipeline(new LoadOptions { LoadDate = Day, TenantId = "acme" });
        await using var sink = SinkTarget.Create($"parquet:{_dir.File($"out/{table}.parquet")}", spec.Name);
        return await pipeline.RunAsync(LocalFileSource.List(input), spec, sink, CancellationToken.None);
    }

    /// <summary>Every record of a gzip CSV (header first), fields unquoted but not trimmed.</summary>
    private static List<string[]> ReadRecords(string path)
    {
        using var file = File.OpenRead(path);
        using var gzip = new GZipStream(file, CompressionMode.Decompress);
        using var reader = new StreamReader(gzip, new UTF8Encoding(false, throwOnInvalidBytes: true));
        string text = reader.ReadToEnd();

        var records = new List<string[]>();
        var fields = new List<string>();
        var field = new StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (quoted)
            {
                if (c != '"')
                {
                    field.Append(c);
                }
                else if (i + 1 < text.Length && text[i + 1] == '"')
                {
                    field.Append('"');
                    i++;
                }
                else
                {
                    quoted = false;
                }
            }
            else if (c == '"')
            {
                quoted = true;
            }
            else if (c == ',')
            {
                fields.Add(field.ToString());
                field.Clear();
            }
            else if (c == '\n')
            {
                fields.Add(field.ToString());
                field.Clear();
                records.Add([.. fields]);
                fields.Clear();
            }
            else
            {
                Assert.NotEqual('\r', c);
                field.Append(c);
            }
        }

        Assert.False(quoted, "unterminated quote");
        Assert.Equal(0, field.Length + fields.Count); // the file ends with a newline
        return records;
    }
}
