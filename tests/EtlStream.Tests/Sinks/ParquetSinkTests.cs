using Apache.Arrow;
using EtlStream.Sinks.Parquet;
using EtlStream.Sinks;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

public sealed class ParquetSinkTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static string ReadParquet(string path) => $"read_parquet({DuckDbQuery.Literal(path)})";

    private static async Task WriteAsync(ParquetSinkOptions options, params RecordBatch[][] chunks)
    {
        await using var sink = new ParquetSink(options);
        await sink.OpenAsync(TestBatches.AllTypesSchema, default);
        foreach (var chunk in chunks)
        {
            await sink.WriteAsync(new SinkChunk(chunk), default);
        }

        await sink.CompleteAsync(default);
    }

    [Theory]
    [InlineData(ParquetCompression.Zstd)]
    [InlineData(ParquetCompression.Snappy)]
    [InlineData(ParquetCompression.None)]
    public async Task AllTypes_ReadBackByDuckDb_WithExactValuesAndTypes(ParquetCompression compression)
    {
        var path = _dir.File("all.parquet");
        using var batch = TestBatches.AllTypes();

        await WriteAsync(new ParquetSinkOptions { Path = path, Compression = compression }, [batch]);

        Assert.Equal(TestBatches.AllTypesDuckDb, DuckDbQuery.Describe(null, ReadParquet(path)));
        TestBatches.AssertRows(TestBatches.AllTypesRows, DuckDbQuery.Rows($"SELECT * FROM {ReadParquet(path)} ORDER BY id"));
        Assert.Equal([path], _dir.Files());
    }

    [Fact]
    public async Task LogicalTypes_AreDecimalDateAndLocalMicrosTimestamp()
    {
        var path = _dir.File("types.parquet");
        using var batch = TestBatches.AllTypes();

        await WriteAsync(new ParquetSinkOptions { Path = path }, [batch]);

        var rows = DuckDbQuery.Rows(
            $"SELECT name, logical_type FROM parquet_schema({DuckDbQuery.Literal(path)}) WHERE name IN ('amount', 'day', 'at') ORDER BY name");
        var byName = rows.ToDictionary(r => (string)r[0]!, r => (string)r[1]!);
        Assert.Contains("DecimalType", byName["amount"], StringComparison.Ordinal);
        Assert.Contains("scale=2", byName["amount"], StringComparison.Ordinal);
        Assert.Contains("precision=18", byName["amount"], StringComparison.Ordinal);
        Assert.Contains("DateType", byName["day"], StringComparison.Ordinal);
        Assert.Contains("isAdjustedToUTC=0", byName["at"], StringComparison.Ordinal);
        Assert.Contains("MICROS", byName["at"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoChunks_RowCountIsTheSum_SmallBatchesShareRowGroupsCappedAtRowGroupRows()
    {
        var path = _dir.File("two.parquet");
        using var first = TestBatches.Sequence(0, 700);
        using var second = TestBatches.Sequence(700, 300);
        using var third = TestBatches.Sequence(1000, 50);

        await WriteAsync(new ParquetSinkOptions { Path = path, RowGroupRows = 400 }, [first, second], [third]);

        Assert.Equal(1050L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {ReadParquet(path)}"));
        Assert.Equal(1049L, DuckDbQuery.Scalar(null, $"SELECT max(id)::BIGINT FROM {ReadParquet(path)}"));
        var groups = DuckDbQuery.Rows(
            $"SELECT row_group_num_rows FROM parquet_metadata({DuckDbQuery.Literal(path)}) GROUP BY row_group_id, row_group_num_rows ORDER BY row_group_id");
        // Three small batches (a few KiB, far below row_group_bytes) fill row groups up to RowGroupRows across batches.
        Assert.Equal([400L, 400L, 250L], groups.Select(r => (long)r[0]!).ToArray());
    }

    [Fact]
    public async Task DisposeWithoutComplete_LeavesNoFileAndNoTempFile()
    {
        var path = _dir.File("sub/abandoned.parquet");
        using var batch = TestBatches.AllTypes();

        await using (var sink = new ParquetSink(new ParquetSinkOptions { Path = path }))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([batch]), default);
            Assert.True(File.Exists(sink.TempPath));
        }

        Assert.Empty(_dir.Files());
    }

    [Fact]
    public async Task DisposeWithoutComplete_LeavesAnExistingTargetUntouched()
    {
        var path = _dir.File("kept.parquet");
        using var batch = TestBatches.AllTypes();
        using var more = TestBatches.Sequence(100, 10);
        await WriteAsync(new ParquetSinkOptions { Path = path }, [batch]);

        await using (var sink = new ParquetSink(new ParquetSinkOptions { Path = path }))
        {
            await sink.OpenAsync(TestBatches.AllTypesSchema, default);
            await sink.WriteAsync(new SinkChunk([more]), default);
        }

        Assert.Equal([path], _dir.Files());
        Assert.Equal(5L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {ReadParquet(path)}"));
    }

    [Fact]
    public async Task Complete_ReplacesAnExistingTarget()
    {
        var path = _dir.File("replaced.parquet");
        using var batch = TestBatches.AllTypes();
        using var more = TestBatches.Sequence(100, 10);
        await WriteAsync(new ParquetSinkOptions { Path = path }, [batch]);

        await WriteAsync(new ParquetSinkOptions { Path = path }, [more]);

        Assert.Equal(10L, DuckDbQuery.Scalar(null, $"SELECT count(*) FROM {ReadParquet(path)}"));
        Assert.Equal([path], _dir.Files());
    }

    [Fact]
    public async Task SlicedBatch_WritesOnlyTheSlice()
    {
        var path = _dir.File("slice.parquet");
        using var batch = TestBatches.AllTypes();
        using var slice = batch.Slice(1, 3);

        await WriteAsync(new ParquetSinkOptions { Path = path }, [slice]);

        TestBatches.AssertRows(TestBatches.AllTypesRows[1..4], DuckDbQuery.Rows($"SELECT * FROM {ReadParquet(path)} ORDER BY id"));
    }

    [Fact]
    public async Task Small_batches_share_a_row_group_closed_at_the_first_batch_boundary_past_row_group_bytes()
    {
        var path = _dir.File("groups.parquet");
        var schema = new Schema.Builder().Field(f => f.Name("id").DataType(Apache.Arrow.Types.Int64Type.Default).Nullable(false)).Build();
        await using (var sink = new ParquetSink(new ParquetSinkOptions { Path = path, RowGroupBytes = 8000 }))
        {
            await sink.OpenAsync(schema, default);
            for (var b = 0; b < 100; b++)
            {
                // 100 rows of 8 bytes: 800 Arrow bytes a batch, so a row group closes after every tenth batch.
                var values = new Int64Array.Builder().AppendRange(Enumerable.Range(b * 100, 100).Select(i => (long)i)).Build();
                using var batch = new RecordBatch(schema, [values], 100);
                await sink.WriteAsync(new SinkChunk([batch]), default);
            }

            await sink.CompleteAsync(default);
        }

        var groups = DuckDbQuery.Rows($"SELECT row_group_id, row_group_num_rows FROM parquet_metadata({DuckDbQuery.Literal(path)}) ORDER BY row_group_id");
        Assert.Equal(Enumerable.Range(0, 10).Select(g => (g, 1000L)).ToList(), groups.Select(r => (Convert.ToInt32(r[0], System.Globalization.CultureInfo.InvariantCulture), Convert.ToInt64(r[1], System.Globalization.CultureInfo.InvariantCulture))).ToList());
        Assert.Equal(Enumerable.Range(0, 10_000).Select(i => (long)i).ToList(), DuckDbQuery.Rows($"SELECT id FROM {ReadParquet(path)}").Select(r => (long)r[0]!).ToList());
    }

    [Fact]
    public async Task A_zip_of_many_one_row_entries_loads_into_one_row_group_not_one_per_entry()
    {
        var zip = _dir.File("many.zip");
        await File.WriteAllBytesAsync(zip, EtlStream.Tests.Compression.HostileArchiveTests.Zip(false,
            Enumerable.Range(0, 2000).Select(i => ($"e{i:D4}.csv", System.Text.Encoding.UTF8.GetBytes($"id,name\n{i},n{i}\n"))).ToArray()));
        var path = _dir.File("many.parquet");
        await using var sink = new ParquetSink(new ParquetSinkOptions { Path = path });

        var result = await new EtlStream.Pipeline.LoadPipeline(new EtlStream.Pipeline.LoadOptions()).RunAsync(
            EtlStream.Sources.Local.LocalFileSource.List(zip), null, sink, default);

        Assert.Equal(2000, result.RowsLoaded);
        Assert.Equal(1L, DuckDbQuery.Scalar(null, $"SELECT count(DISTINCT row_group_id) FROM parquet_metadata({DuckDbQuery.Literal(path)})"));
        Assert.Equal("1999:n1999", DuckDbQuery.Scalar(null, $"SELECT max(CAST(id AS INT)) || ':' || max_by(name, CAST(id AS INT)) FROM {ReadParquet(path)}"));
    }
}
