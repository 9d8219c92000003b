using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using EtlStream.Formats;
using EtlStream.Formats.Arrow;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Formats.Parquet;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Formats.Arrow;

/// <summary>Arrow IPC files and streams as an input (issue 16), compressed bodies included, checked by DuckDB.</summary>
public sealed class ArrowInputTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>One record batch of <paramref name="rows"/> rows: id int32, amount decimal(9,2), day date32, at timestamp[ms, UTC], label string (NULL every 10th).</summary>
    private static RecordBatch Batch(int rows, int start = 0)
    {
        var ids = new Int32Array.Builder();
        var amounts = new Decimal128Array.Builder(new Decimal128Type(9, 2));
        var days = new Date32Array.Builder();
        var at = new TimestampArray.Builder(new TimestampType(TimeUnit.Millisecond, "UTC"));
        var labels = new StringArray.Builder();
        for (var i = start; i < start + rows; i++)
        {
            ids.Append(i);
            amounts.Append((decimal)i / 100 - 50);
            days.Append(new DateTime(2024, 1, 1).AddDays(i % 400));
            at.Append(new DateTimeOffset(2024, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMilliseconds(i * 1001L));
            if (i % 10 == 9)
            {
                labels.AppendNull();
            }
            else
            {
                labels.Append($"label {i} ✓");
            }
        }

        var schema = new Schema.Builder()
            .Field(f => f.Name("id").DataType(Int32Type.Default))
            .Field(f => f.Name("amount").DataType(new Decimal128Type(9, 2)))
            .Field(f => f.Name("day").DataType(Date32Type.Default))
            .Field(f => f.Name("at").DataType(new TimestampType(TimeUnit.Millisecond, "UTC")))
            .Field(f => f.Name("label").DataType(StringType.Default))
            .Build();
        return new RecordBatch(schema, [ids.Build(), amounts.Build(), days.Build(), at.Build(), labels.Build()], rows);
    }

    private static async Task WriteAsync(string path, bool file, CompressionCodecType? codec, params RecordBatch[] batches)
    {
        var options = new IpcOptions { CompressionCodec = codec, CompressionCodecFactory = new Apache.Arrow.Compression.CompressionCodecFactory() };
        await using var stream = File.Create(path);
        using var writer = file ? new ArrowFileWriter(stream, batches[0].Schema, false, options) : new ArrowStreamWriter(stream, batches[0].Schema, false, options);
        foreach (var b in batches)
        {
            await writer.WriteRecordBatchAsync(b);
        }

        await writer.WriteEndAsync();
    }

    private static async Task<LoadResult> LoadAsync(string input, string target, TableSpec? spec)
    {
        await using var sink = SinkTarget.Create(target, spec?.Name ?? "t");
        return await new LoadPipeline(new LoadOptions()).RunAsync(LocalFileSource.List(input), spec, sink, default);
    }

    /// <summary>The expected rows as DuckDB shows them: (id, amount, day, at, label).</summary>
    private static List<object?[]> Expected(int rows) =>
        Enumerable.Range(0, rows).Select(i => new object?[]
        {
            (long)i,
            (((decimal)i / 100) - 50).ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
            DateOnly.FromDateTime(new DateTime(2024, 1, 1).AddDays(i % 400)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            new DateTime(2024, 1, 1).AddMilliseconds(i * 1001L).ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", System.Globalization.CultureInfo.InvariantCulture).TrimEnd('.'),
            i % 10 == 9 ? null : $"label {i} ✓",
        }).ToList();

    [Theory]
    [InlineData("data.arrow", true, null)]
    [InlineData("data.feather", true, CompressionCodecType.Lz4Frame)]
    [InlineData("data.arrows", false, CompressionCodecType.Zstd)]
    [InlineData("data.arrows.gz", false, null)]
    public async Task Files_and_streams_load_exact_values_into_parquet_recognised_by_content(string name, bool file, CompressionCodecType? codec)
    {
        var input = _dir.File(name);
        var plain = name.EndsWith(".gz", StringComparison.Ordinal) ? _dir.File("plain") : input;
        using (var first = Batch(3000))
        using (var second = Batch(1234, 3000))
        {
            await WriteAsync(plain, file, codec, first, second);
        }

        if (plain != input)
        {
            await using var gz = new System.IO.Compression.GZipStream(File.Create(input), System.IO.Compression.CompressionLevel.Fastest);
            await using var source = File.OpenRead(plain);
            await source.CopyToAsync(gz);
        }

        var output = _dir.File("out.parquet");
        var spec = TableSpecReader.Read("""
            table: t
            columns:
              - { name: id, type: int64 }
              - { name: amount, type: "decimal(12,2)" }
              - { name: day, type: date }
              - { name: at, type: timestamp }
              - { name: label, type: string }
            """, "t.yaml");

        var result = await LoadAsync(input, $"parquet:{output}", spec);

        Assert.Equal(4234L, result.RowsLoaded);
        var rows = DuckDbQuery.Rows($"SELECT id, amount::VARCHAR, day::VARCHAR, \"at\"::VARCHAR, label FROM read_parquet({DuckDbQuery.Literal(output)}) ORDER BY id");
        Assert.Equal(Expected(4234), rows);
    }

    [Fact]
    public async Task Without_a_spec_an_arrow_file_keeps_its_types_in_duckdb()
    {
        var input = _dir.File("data.arrow");
        using (var batch = Batch(100))
        {
            await WriteAsync(input, true, null, batch);
        }

        var db = _dir.File("out.duckdb");
        await LoadAsync(input, $"duckdb:{db}?table=data", null);

        Assert.Equal([("id", "INTEGER"), ("amount", "DECIMAL(9,2)"), ("day", "DATE"), ("at", "TIMESTAMP"), ("label", "VARCHAR")], DuckDbQuery.Describe(db, "data"));
        Assert.Equal(Expected(100), DuckDbQuery.Rows(db, "SELECT id::BIGINT, amount::VARCHAR, day::VARCHAR, \"at\"::VARCHAR, label FROM data ORDER BY id"));
    }

    [Fact]
    public async Task One_large_record_batch_is_handed_on_in_slices_of_the_batch_rows()
    {
        var input = _dir.File("big.arrows");
        using (var batch = Batch(10_000))
        {
            await WriteAsync(input, false, null, batch);
        }

        var spec = new TableSpec
        {
            Name = "t",
            Columns = [new ColumnSpec { Name = "id", Type = new ColumnType(ColumnKind.Int64) }],
            Csv = EtlStream.Formats.Csv.CsvOptions.Default with { BatchRows = 3000 },
        };
        await using var stream = File.OpenRead(input);
        using var reader = ArrowFormat.Instance.Open(stream, "big.arrows", spec);
        Assert.Equal(["id", "amount", "day", "at", "label"], await reader.ReadHeaderAsync(default));
        var sizes = new List<int>();
        var firstLines = new List<long>();
        while (await reader.ReadBatchAsync(default) is { } b)
        {
            using (b)
            {
                sizes.Add(b.RowCount);
                firstLines.Add(b.LineOf(0));
                Assert.Equal((int)(b.LineOf(0) - 1), ((Int32Array)b.Typed(0)!).GetValue(0)!.Value);
            }
        }

        Assert.Equal([3000, 3000, 3000, 1000], sizes);
        Assert.Equal([1L, 3001, 6001, 9001], firstLines);
        Assert.Equal(new FileInfo(input).Length, reader.BytesConsumed);
    }

    [Fact]
    public async Task A_truncated_arrow_stream_fails_naming_the_file_as_corrupt()
    {
        var plain = _dir.File("plain.arrows");
        using (var batch = Batch(5000))
        {
            await WriteAsync(plain, false, null, batch);
        }

        var input = _dir.File("cut.arrows");
        var bytes = await File.ReadAllBytesAsync(plain);
        await File.WriteAllBytesAsync(input, bytes[..(bytes.Length / 2)]);

        var (code, _, err) = await CliProcess.RunAsync(_dir.Path, null, "load", input, "--to", $"parquet:{_dir.File("o.parquet")}", "--no-progress");

        Assert.Equal(1, code);
        Assert.Contains($"{input}: corrupt Arrow IPC data: ", err);
    }

    [Fact]
    public async Task The_real_flights_200k_arrow_file_matches_the_same_rows_duckdb_reads_from_its_json()
    {
        var input = await NpmDataPackage.FileAsync("vega-datasets", "3.2.1", "data/flights-200k.arrow");
        var json = await NpmDataPackage.FileAsync("vega-datasets", "3.2.1", "data/flights-200k.json");
        var db = _dir.File("flights.duckdb");

        var result = await LoadAsync(input, $"duckdb:{db}?table=flights", null);

        Assert.Equal(200_000L, result.RowsLoaded);
        var differ = DuckDbQuery.Scalar(db, $"""
            SELECT count(*) FROM (
              (SELECT delay::DOUBLE, distance::DOUBLE, time::REAL FROM read_json({DuckDbQuery.Literal(json)}) EXCEPT ALL SELECT delay::DOUBLE, distance::DOUBLE, time::REAL FROM flights)
              UNION ALL
              (SELECT delay::DOUBLE, distance::DOUBLE, time::REAL FROM flights EXCEPT ALL SELECT delay::DOUBLE, distance::DOUBLE, time::REAL FROM read_json({DuckDbQuery.Literal(json)})))
            """);
        Assert.Equal(0L, differ);
    }

    [Fact]
    public void Files_and_streams_are_recognised_and_csv_is_not_mistaken_for_either()
    {
        Assert.Same(ArrowFormat.Instance, InputFormats.Recognize("ARROW1\0\0"u8));
        Assert.Same(ArrowFormat.Instance, InputFormats.Recognize([0xFF, 0xFF, 0xFF, 0xFF, 0x78, 0x00, 0x00, 0x00, 0x10]));
        Assert.Same(EtlStream.Formats.Csv.CsvFormat.Instance, InputFormats.Recognize("ARROW,1\n"u8));
        Assert.Same(ArrowFormat.Instance, InputFormats.Find("arrow"));
    }
}
