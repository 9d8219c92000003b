using Apache.Arrow;
using Apache.Arrow.Types;
using EtlStream.Generation;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks.Contract;

/// <summary>
/// What every sink promises, run against each one by a small subclass (a sink factory and a reader of what landed):
/// the standard job's file lands row for row, awkward values round-trip exactly, concurrent chunks of several files
/// all land once, a refresh replaces the content only when it completes, and a run that fails leaves the old
/// content. Rows are compared whole, in canonical text (<see cref="CanonicalRows"/>), against the Arrow batches the
/// sink was given, which also makes every column's sum and checksum identical.
/// </summary>
public abstract class SinkContractTests : IAsyncLifetime
{
    private const int StandardRows = 3000;
    private static readonly SemaphoreSlim StandardGate = new(1, 1);
    private static string? _standardFile;

    protected TempDirectory Dir { get; } = new();

    /// <summary>A sink loading <paramref name="table"/> (a name unique to the test), replacing or appending.</summary>
    protected abstract IBatchSink CreateSink(string table, bool replace, int concurrency = 3);

    /// <summary>Every row of <paramref name="table"/> as the database returns it (any order); null when it does not exist.</summary>
    protected abstract Task<List<object?[]>?> ReadRowsAsync(string table, Schema schema);

    /// <summary>False for a database whose timestamps stop at whole seconds (ClickHouse 18.16's DateTime).</summary>
    protected virtual bool SubSecondTimestamps => true;

    public virtual Task InitializeAsync() => Task.CompletedTask;

    public virtual Task DisposeAsync()
    {
        Dir.Dispose();
        return Task.CompletedTask;
    }

    protected static string NewTable(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    [Fact]
    public async Task StandardJob_SmallFile_LandsWithIdenticalRows()
    {
        var file = await StandardFileAsync();
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoPaths.Root, "perf", "jobs", "invoices.yaml"));
        var reference = new CapturingSink();
        await RunPipelineAsync(file, spec, reference);
        var table = NewTable("fact_invoice");

        await using (var sink = CreateSink(table, replace: false))
        {
            var result = await RunPipelineAsync(file, spec, sink);
            Assert.Equal(reference.Rows.Count, result.RowsLoaded);
        }

        var landed = await ReadAsync(table, reference.Schema);
        Assert.True(reference.Rows.Count > StandardRows / 2, $"the standard job kept {reference.Rows.Count} rows");
        Assert.Equal(reference.Rows.Count, landed.Count);
        Assert.Equal(CanonicalRows.Sorted(reference.Rows), CanonicalRows.Sorted(landed));
    }

    [Fact]
    public async Task AwkwardValues_RoundTripExactly()
    {
        using var batch = AwkwardBatch(SubSecondTimestamps);
        var table = NewTable("awkward");

        await LoadAsync(table, replace: false, [batch]);

        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([batch])), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
    }

    [Fact]
    public async Task ConcurrentChunksOfSeveralFiles_AllLandOnce()
    {
        var table = NewTable("concurrent");
        var batches = Enumerable.Range(0, 8).Select(i => Sequence(i * 1000, 1000)).ToArray();
        try
        {
            await using var sink = CreateSink(table, replace: false, concurrency: 3);
            await sink.OpenAsync(AwkwardSchema, default);
            using var gate = new SemaphoreSlim(sink.MaxConcurrency);
            var files = Enumerable.Range(0, 4).Select(f => new SourceFile($"day{f}.csv", 0, "v1", _ => throw new NotSupportedException())).ToArray();
            await Task.WhenAll(batches.Select(async (b, i) =>
            {
                await gate.WaitAsync();
                try
                {
                    await Task.Yield();
                    await sink.WriteAsync(new SinkChunk([b], files[i % 4], i / 4), default);
                }
                finally
                {
                    gate.Release();
                }
            }));
            foreach (var f in files)
            {
                await sink.FileCompleteAsync(f, 2, default);
            }

            await sink.CompleteAsync(default);
            Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of(batches)), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
        }
        finally
        {
            foreach (var b in batches)
            {
                b.Dispose();
            }
        }
    }

    [Fact]
    public async Task Replace_KeepsTheOldContentVisibleUntilItCompletes()
    {
        var table = NewTable("refresh");
        using var old = Sequence(0, 500);
        using var first = Sequence(10_000, 300);
        using var second = Sequence(20_000, 200);
        await LoadAsync(table, replace: true, [old]);
        var oldRows = CanonicalRows.Sorted(CanonicalRows.Of([old]));

        await using (var sink = CreateSink(table, replace: true))
        {
            await sink.OpenAsync(AwkwardSchema, default);
            Assert.Equal(oldRows, CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
            await sink.WriteAsync(new SinkChunk([first]), default);
            Assert.Equal(oldRows, CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
            await sink.WriteAsync(new SinkChunk([second]), default);
            Assert.Equal(oldRows, CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
            await sink.CompleteAsync(default);
        }

        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of([first, second])), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task FailedRun_MidLoad_LeavesTheOldContentIntact(bool replace)
    {
        var table = NewTable("failed");
        using var old = Sequence(0, 400);
        using var chunk = Sequence(5000, 700);
        await LoadAsync(table, replace: true, [old]);

        // The pipeline disposes a failed run's sink without completing it: this is that run, failing after two chunks.
        var failure = await Assert.ThrowsAsync<IOException>(async () =>
        {
            await using var sink = CreateSink(table, replace);
            await sink.OpenAsync(AwkwardSchema, default);
            await sink.WriteAsync(new SinkChunk([chunk]), default);
            await sink.WriteAsync(new SinkChunk([chunk]), default);
            throw new IOException("source went away");
        });

        Assert.Equal("source went away", failure.Message);
        RecordBatch[] expected = replace || FailedAppendsLeaveNoRows ? [old] : [old, chunk, chunk];
        Assert.Equal(CanonicalRows.Sorted(CanonicalRows.Of(expected)), CanonicalRows.Sorted(await ReadAsync(table, AwkwardSchema)));
    }

    /// <summary>
    /// False for a sink whose appends commit chunk by chunk (StarRocks' label mode): a failed run's written chunks
    /// stay, each exactly once, until the rerun adds the rest under the same labels.
    /// </summary>
    protected virtual bool FailedAppendsLeaveNoRows => true;

    /// <summary>Loads one run of <paramref name="batches"/> (one chunk each) and completes it.</summary>
    protected async Task LoadAsync(string table, bool replace, IReadOnlyList<RecordBatch> batches, Schema? schema = null)
    {
        await using var sink = CreateSink(table, replace);
        await sink.OpenAsync(schema ?? AwkwardSchema, default);
        foreach (var b in batches)
        {
            await sink.WriteAsync(new SinkChunk([b]), default);
        }

        await sink.CompleteAsync(default);
    }

    protected async Task<List<string?[]>> ReadAsync(string table, Schema schema) =>
        CanonicalRows.Of(await ReadRowsAsync(table, schema) ?? throw new InvalidOperationException($"table {table} does not exist"), schema);

    private async Task<LoadResult> RunPipelineAsync(string file, TableSpec spec, IBatchSink sink)
    {
        var pipeline = new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24), RejectsPath = Dir.File($"rejects-{Guid.NewGuid():N}.parquet") });
        return await pipeline.RunAsync(LocalFileSource.List(file), spec, sink, default);
    }

    private static async Task<string> StandardFileAsync()
    {
        await StandardGate.WaitAsync();
        try
        {
            if (_standardFile is null)
            {
                var path = Path.Combine(Path.GetTempPath(), "etlstream-tests", $"invoices-{StandardRows}-{Guid.NewGuid():N}.csv.gz");
                Directory.CreateDirectory(Path.GetDirectoryName(path)!);
                await InvoiceGenerator.WriteFileAsync(path, StandardRows, seed: 42, default);
                _standardFile = path;
            }

            return _standardFile;
        }
        finally
        {
            StandardGate.Release();
        }
    }

    /// <summary>The awkward values' columns: every type the engine produces, a bounded and an unbounded string.</summary>
    public static readonly Schema AwkwardSchema = new Schema.Builder()
        .Field(new Field("id", Int32Type.Default, nullable: false))
        .Field(new Field("text", StringType.Default, nullable: true))
        .Field(new Field("code", StringType.Default, nullable: true, [new(ArrowTypes.MaxLengthKey, "16")]))
        .Field(new Field("i8", Int8Type.Default, nullable: true))
        .Field(new Field("i16", Int16Type.Default, nullable: true))
        .Field(new Field("i64", Int64Type.Default, nullable: true))
        .Field(new Field("amount", new Decimal128Type(18, 2), nullable: true))
        .Field(new Field("ratio", DoubleType.Default, nullable: true))
        .Field(new Field("flag", BooleanType.Default, nullable: true))
        .Field(new Field("day", Date32Type.Default, nullable: true))
        .Field(new Field("at", ArrowTypes.Timestamp, nullable: true))
        .Build();

    /// <summary>
    /// Nulls, empty strings, quotes, tabs, newlines, backslashes, a literal <c>\N</c>, multi-byte text (4-byte UTF-8
    /// too), decimal(18,2) at ±9999999999999999.99, integer extremes, and dates and timestamps at the edges of the
    /// range every database here accepts: 1970-01-01 to 2105-12-31 (ClickHouse 18.16's Date and DateTime).
    /// </summary>
    public static RecordBatch AwkwardBatch(bool subSecondTimestamps)
    {
        string?[] texts =
        [
            "plain", "", null, "quote \" and 'single'", "tab\there", "new\nline and crlf\r\n", "back\\slash \\t \\n \\\\",
            "\\N", "NULL", "Ağrı Dağı 東京 😀 e\u0301", "comma, semicolon; pipe|",
        ];
        var n = texts.Length;
        var columns = new AwkwardBuilders();
        var (id, text, code, i8, i16, i64, amount, ratio, flag, day, at) = columns;
        decimal[] amounts = [9999999999999999.99m, -9999999999999999.99m, 0m, -0.01m, 0.01m, 1234.5m];
        DateOnly[] days = [new(1970, 1, 1), new(2105, 12, 31), new(2000, 2, 29), new(2026, 11, 24)];
        DateTime[] stamps =
        [
            new(1970, 1, 1), new(2105, 12, 31, 23, 59, 59), new(2026, 11, 24, 13, 45, 30),
            subSecondTimestamps ? new DateTime(2026, 11, 24, 13, 45, 30).AddTicks(1234560) : new DateTime(2000, 2, 29, 12, 0, 1),
        ];
        for (var i = 0; i < n; i++)
        {
            id.Append(i + 1);
            if (texts[i] is { } t) { text.Append(t); } else { text.AppendNull(); }
            if (i == 2) { code.AppendNull(); } else { code.Append(i % 3 == 0 ? "" : "Ω16-bytes-ok"[..Math.Min(12, 1 + i)]); }
            if (i == 2)
            {
                i8.AppendNull(); i16.AppendNull(); i64.AppendNull(); amount.AppendNull(); ratio.AppendNull(); flag.AppendNull(); day.AppendNull(); at.AppendNull();
                continue;
            }

            i8.Append(i % 2 == 0 ? sbyte.MaxValue : sbyte.MinValue);
            i16.Append(i % 2 == 0 ? short.MinValue : short.MaxValue);
            i64.Append(i % 3 == 0 ? long.MaxValue : i % 3 == 1 ? long.MinValue : 0);
            amount.Append(amounts[i % amounts.Length]);
            ratio.Append(i % 4 == 0 ? 0.1 : i % 4 == 1 ? -2.5e-300 : i % 4 == 2 ? 1e308 : 12345.6789);
            flag.Append(i % 2 == 0);
            day.Append(days[i % days.Length]);
            at.Append(new DateTimeOffset(stamps[i % stamps.Length], TimeSpan.Zero));
        }

        return columns.Build(n);
    }

    /// <summary><paramref name="count"/> plain rows with ids from <paramref name="firstId"/>, in <see cref="AwkwardSchema"/>.</summary>
    public static RecordBatch Sequence(int firstId, int count)
    {
        var columns = new AwkwardBuilders();
        var (id, text, code, i8, i16, i64, amount, ratio, flag, day, at) = columns;
        for (var i = 0; i < count; i++)
        {
            var v = firstId + i;
            id.Append(v);
            text.Append("row " + v);
            code.Append("C" + (v % 97));
            i8.Append((sbyte)(v % 100));
            i16.Append((short)(v % 30000));
            i64.Append(v * 1000L);
            amount.Append(v / 100m);
            ratio.Append(v / 4.0);
            flag.Append(v % 2 == 0);
            day.Append(new DateOnly(2026, 1, 1).AddDays(v % 365));
            at.Append(new DateTimeOffset(new DateTime(2026, 1, 1).AddSeconds(v), TimeSpan.Zero));
        }

        return columns.Build(count);
    }

    /// <summary>One builder per <see cref="AwkwardSchema"/> column, and the batch they make.</summary>
    private sealed record AwkwardBuilders(
        Int32Array.Builder Id, StringArray.Builder Text, StringArray.Builder Code, Int8Array.Builder I8, Int16Array.Builder I16,
        Int64Array.Builder I64, Decimal128Array.Builder Amount, DoubleArray.Builder Ratio, BooleanArray.Builder Flag,
        Date32Array.Builder Day, TimestampArray.Builder At)
    {
        public AwkwardBuilders()
            : this(new(), new(), new(), new(), new(), new(), new(new Decimal128Type(18, 2)), new(), new(), new(), new(ArrowTypes.Timestamp))
        {
        }

        public RecordBatch Build(int rows) =>
            new(AwkwardSchema,
                [Id.Build(), Text.Build(), Code.Build(), I8.Build(), I16.Build(), I64.Build(), Amount.Build(), Ratio.Build(), Flag.Build(), Day.Build(), At.Build()], rows);
    }

    /// <summary>The reference: keeps the canonical rows of everything written to it.</summary>
    private sealed class CapturingSink : IBatchSink
    {
        public List<string?[]> Rows { get; } = [];

        public Schema Schema { get; private set; } = null!;

        public int MaxConcurrency => 1;

        public int PreferredChunkRows => 4096;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
        {
            Schema = schema;
            return ValueTask.CompletedTask;
        }

        public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            Rows.AddRange(CanonicalRows.Of(chunk.Batches));
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
