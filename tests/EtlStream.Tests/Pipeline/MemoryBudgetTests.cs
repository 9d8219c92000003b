using EtlStream.Formats;
using System.Collections.Concurrent;
using System.Text;
using Apache.Arrow;
using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;
using EtlStream.Transforms;

namespace EtlStream.Tests.Pipeline;

/// <summary>
/// The memory budget is enforced by the code that sizes batches, chunks and unique key sets: asserted on the
/// batches' Arrow bytes and rows a sink observes, and on the errors past the limits, never on RSS or time.
/// </summary>
public sealed class MemoryBudgetTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string WideFile(int columns, int rows)
    {
        var path = _dir.File($"wide-{columns}.csv");
        var sb = new StringBuilder();
        sb.AppendJoin(',', Enumerable.Range(0, columns).Select(c => $"c{c}")).Append('\n');
        for (var r = 0; r < rows; r++)
        {
            sb.AppendJoin(',', Enumerable.Range(0, columns).Select(c => c == 0 ? r.ToString(System.Globalization.CultureInfo.InvariantCulture) : (c % 10).ToString(System.Globalization.CultureInfo.InvariantCulture))).Append('\n');
        }

        File.WriteAllText(path, sb.ToString());
        return path;
    }

    /// <summary>The Arrow bytes a parsed batch holds: each column's offsets, values and validity, and a line number per row.</summary>
    private static long ArrowBytes(TextBatch batch)
    {
        long bytes = (long)batch.RowCount * sizeof(long);
        for (var c = 0; c < batch.ColumnCount; c++)
        {
            var a = batch.Column(c);
            bytes += a.ValueOffsetsBuffer.Length + a.ValueBuffer.Length + a.NullBitmapBuffer.Length;
        }

        return bytes;
    }

    private static long ArrowBytes(RecordBatch batch)
    {
        long bytes = 0;
        foreach (var array in batch.Arrays)
        {
            foreach (var buffer in array.Data.Buffers)
            {
                bytes += buffer.Length;
            }
        }

        return bytes;
    }

    [Fact]
    public async Task A_2048_column_file_is_parsed_in_batches_within_batch_bytes_and_every_value_survives()
    {
        var path = WideFile(2048, 1500);
        var options = CsvOptions.Default with { BatchBytes = 4 * 1024 * 1024 };
        await using var stream = File.OpenRead(path);
        using var parser = new CsvArrowParser(stream, "wide.csv", options);
        var rows = 0;
        var batches = 0;
        while (await parser.ReadBatchAsync() is { } batch)
        {
            using (batch)
            {
                Assert.True(ArrowBytes(batch) <= options.BatchBytes, $"batch {batches} holds {ArrowBytes(batch):N0} Arrow bytes, over {options.BatchBytes:N0}");
                Assert.Equal(rows.ToString(System.Globalization.CultureInfo.InvariantCulture), batch.Column(0).GetString(0));
                Assert.Equal("7", batch.Column(2047).GetString(batch.RowCount - 1));
                Assert.Equal(rows + 2, batch.LineOf(0));
                rows += batch.RowCount;
                batches++;
            }
        }

        Assert.Equal(1500, rows);

        // 2,048 columns × (4-byte offset + validity + value) is ~14 KB a row: a 4 MiB batch holds a few hundred, not 65,536.
        Assert.InRange(batches, 5, 30);
    }

    [Fact]
    public async Task A_record_larger_than_batch_bytes_is_a_batch_of_its_own_and_small_records_around_it_stay_within_the_bound()
    {
        var big = new string('x', 3 * 1024 * 1024);
        var csv = new StringBuilder("id,payload\n");
        for (var i = 0; i < 40; i++)
        {
            csv.Append(i).Append(',').Append(i % 10 == 5 ? big : "small").Append('\n');
        }

        var options = CsvOptions.Default with { BatchBytes = 1024 * 1024 };
        using var parser = new CsvArrowParser(new MemoryStream(Encoding.UTF8.GetBytes(csv.ToString())), "big.csv", options);
        var seen = new List<(int Rows, long Bytes, int FirstId)>();
        while (await parser.ReadBatchAsync() is { } batch)
        {
            using (batch)
            {
                seen.Add((batch.RowCount, ArrowBytes(batch), int.Parse(batch.Column(0).GetString(0), System.Globalization.CultureInfo.InvariantCulture)));
                for (var r = 0; r < batch.RowCount; r++)
                {
                    var id = int.Parse(batch.Column(0).GetString(r), System.Globalization.CultureInfo.InvariantCulture);
                    Assert.Equal(id % 10 == 5 ? big.Length : 5, batch.Column(1).GetString(r).Length);
                }
            }
        }

        Assert.Equal(40, seen.Sum(b => b.Rows));
        foreach (var (rows, bytes, firstId) in seen)
        {
            if (bytes > options.BatchBytes)
            {
                Assert.Equal(1, rows);
                Assert.Equal(5, firstId % 10);
            }
        }

        // Each of the four 3 MiB records is alone in its batch. The batch after one is sized from it (one row), and the
        // one after that from its small row again: 5 batches of small rows between them, 4 single rows, 4 big ones.
        Assert.Equal(4, seen.Count(b => b.Bytes > options.BatchBytes));
        Assert.Equal(13, seen.Count);
    }

    [Theory]
    [InlineData(1)]        // the sink takes batches one at a time (Parquet, CSV)
    [InlineData(65536)]    // the sink gathers 65,536-row chunks (DuckDB): the chunker closes them at the plan's bytes
    public async Task Through_the_pipeline_a_wide_files_batches_and_chunks_stay_within_the_plan(int chunkRows)
    {
        var path = WideFile(2048, 1500);
        var sink = new MeasuringSink(chunkRows);
        var options = new LoadOptions { MemoryBudget = 32L * 1024 * 1024, TransformParallelism = 1, LoadDate = new DateOnly(2026, 11, 24) };
        var pipeline = new LoadPipeline(options);

        var result = await pipeline.RunAsync(LocalFileSource.List(path), null, sink, default);

        var plan = pipeline.Plan!;
        Assert.Equal(MemoryPlan.For(options, 1, 1, chunkRows, long.MaxValue, 0), plan);
        Assert.Equal(1500, result.RowsLoaded);
        Assert.Equal(1500, sink.Rows);
        Assert.True(plan.BatchSlots * plan.BatchBytes <= options.MemoryBudget, "the batch slots alone pass the budget");
        Assert.True(sink.LargestBatch <= plan.BatchBytes, $"largest batch {sink.LargestBatch:N0} bytes, plan {plan.BatchBytes:N0}");
        Assert.True(sink.LargestChunk <= (chunkRows == 1 ? plan.BatchBytes : plan.ChunkBytes + plan.BatchBytes), $"largest chunk {sink.LargestChunk:N0} bytes");
        Assert.True(sink.Batches > 1, "a wide file of 1,500 rows within a 32 MiB budget needs more than one batch");
    }

    [Theory]
    [InlineData(1)]        // batches straight to the sink
    [InlineData(65536)]    // through the chunker, where a partial chunk waits for more of its file
    public async Task Records_longer_than_a_batch_are_held_within_the_counted_bound_and_every_value_survives(int chunkRows)
    {
        // Twelve 5 MB records: each a batch of its own (the plan's batches are ~5 MiB), each with its transformed
        // copy. The slots alone would allow 5 such batches and their copies (over 50 MiB) within a 32 MiB budget.
        var path = _dir.File("huge.csv");
        await using (var w = new StreamWriter(path))
        {
            await w.WriteAsync("id,payload\n");
            for (var i = 0; i < 12; i++)
            {
                await w.WriteAsync($"{i},{new string((char)('a' + i), 5_000_000)}\n");
            }
        }

        var sink = new MeasuringSink(chunkRows) { WriteDelay = TimeSpan.FromMilliseconds(50) };
        var options = new LoadOptions { MemoryBudget = 32L * 1024 * 1024, TransformParallelism = 1, LoadDate = new DateOnly(2026, 11, 24) };
        var pipeline = new LoadPipeline(options);
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));

        var result = await pipeline.RunAsync(LocalFileSource.List(path), null, sink, timeout.Token);

        Assert.Equal(12, result.RowsLoaded);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"{i}:{(char)('a' + i)}:5000000").ToList(), sink.Values);
        var memory = pipeline.Memory!;
        Assert.Equal(pipeline.Plan!.MeshBytes, memory.Limit);
        Assert.True(memory.HighWater <= memory.Limit, $"high water {memory.HighWater:N0} bytes, limit {memory.Limit:N0}");
        Assert.True(memory.HighWater >= 2 * 5_000_000, "a huge record's batch and its copy were counted");
        Assert.Equal(0, memory.Used);
    }

    [Fact]
    public async Task An_absurd_batch_rows_is_refused_at_start_up_naming_the_setting_and_the_budget()
    {
        var path = WideFile(3, 10);
        var spec = TableSpecReader.Read("table: t\ncsv: { batch_rows: 16777216 }\ncolumns:\n  - { name: c0, type: string }\n", "t.yaml");
        var sink = new MeasuringSink(1);
        var pipeline = new LoadPipeline(new LoadOptions { TransformParallelism = 1 });

        var e = await Assert.ThrowsAsync<ConfigException>(() => pipeline.RunAsync(LocalFileSource.List(path), spec, sink, default));

        Assert.Equal(
            ["csv.batch_rows: 16,777,216 rows take at least 208.0 MiB per batch even for one column, over the 50.2 MiB a batch gets from memory_budget 256.0 MiB; lower csv.batch_rows (at most 4,049,116) or raise --memory-budget"],
            e.Errors);
        Assert.False(sink.Opened);
    }

    [Fact]
    public async Task Unique_past_its_share_of_the_budget_fails_the_run_naming_file_line_column_and_limit()
    {
        var path = _dir.File("keys.csv");
        File.WriteAllText(path, "invoice_no\n" + string.Concat(Enumerable.Range(0, 300_000).Select(i => $"INV{i:D10}\n")));
        var spec = TableSpecReader.Read("table: t\ncolumns:\n  - { name: invoice_no, type: string, rules: { unique: true } }\n", "t.yaml");
        var pipeline = new LoadPipeline(new LoadOptions { MemoryBudget = 16L * 1024 * 1024, TransformParallelism = 1 });

        var e = await Assert.ThrowsAsync<UniqueLimitException>(() => pipeline.RunAsync(LocalFileSource.List(path), spec, new MeasuringSink(1), default));

        // A quarter of 16 MiB; keys were added in file order, so the one that did not fit is on line (keys + 2).
        Assert.Equal(4L * 1024 * 1024, pipeline.Plan!.UniqueKeyBytes);
        Assert.InRange(e.Keys, 50_000, 299_999);
        Assert.Equal(e.Keys + 2, e.Line);
        Assert.Equal($"{path}:{e.Keys + 2}: unique on invoice_no: more than {e.Keys:N0} distinct keys (4.0 MiB of memory_budget for its keys); raise --memory-budget or check uniqueness in the warehouse", e.Message);
    }

    [Fact]
    public void The_unique_key_set_finds_every_duplicate_across_resizes_and_long_keys_and_stays_within_its_limit()
    {
        var set = new UniqueKeySet(64L * 1024 * 1024);
        var longKey = Encoding.UTF8.GetBytes(new string('k', 3 * 1024 * 1024));
        Assert.Equal(UniqueAdd.Added, set.Add(longKey));
        for (var i = 0; i < 200_000; i++)
        {
            Assert.Equal(UniqueAdd.Added, set.Add(Encoding.UTF8.GetBytes($"key-{i}")));
        }

        for (var i = 0; i < 200_000; i += 997)
        {
            Assert.Equal(UniqueAdd.Duplicate, set.Add(Encoding.UTF8.GetBytes($"key-{i}")));
        }

        Assert.Equal(UniqueAdd.Duplicate, set.Add(longKey));
        Assert.Equal(UniqueAdd.Added, set.Add(longKey.AsSpan(1)));
        Assert.Equal(UniqueAdd.Added, set.Add([]));
        Assert.Equal(UniqueAdd.Duplicate, set.Add([]));
        Assert.Equal(200_003, set.Count);
        Assert.True(set.Bytes <= set.LimitBytes);

        var small = new UniqueKeySet(1024 * 1024);
        var added = 0;
        while (small.Add(Encoding.UTF8.GetBytes($"INV{added:D10}")) == UniqueAdd.Added)
        {
            added++;
        }

        Assert.True(small.Bytes <= small.LimitBytes, $"{small.Bytes:N0} bytes over the limit");
        Assert.Equal(UniqueAdd.Full, small.Add("INV-another"u8));
        Assert.Equal(UniqueAdd.Duplicate, small.Add(Encoding.UTF8.GetBytes($"INV{0:D10}")));
    }

    [Fact]
    public void Explain_states_the_budget_and_how_it_is_split()
    {
        var text = MeshDescription.Describe(new LoadOptions { ParallelFiles = 2, TransformParallelism = 1 }, CsvOptions.Default, "duckdb w.t", 1, 65536, long.MaxValue, 1);
        var lines = text.Split('\n');
        // 256 MiB less 10 MiB of read-ahead (2 files) and 64 MiB of unique keys; half of it for 7 batch slots
        // (2 per file, 2 for the transform, 1 at the chunker), half for 4 chunk slots (1 per file, 1 at the sink, 1 sent).
        Assert.Contains("    parse      CSV → Arrow     65,536-row batches of at most 13.0 MiB (fewer rows for wide files; a longer record is a batch of its own), records up to 64 MiB", lines);
        Assert.Equal("    batch      chunker         gathers 65,536 rows per write, or 9.8 MiB of Arrow bytes", lines[4]);
        Assert.Equal("    memory budget 256.0 MiB (--memory-budget): read-ahead 10.0 MiB, 7 batches × 13.0 MiB, 4 chunks × 22.8 MiB, unique keys 64.0 MiB; batches and chunks in flight counted as allocated, at most 156.0 MiB", lines[6]);
    }

    /// <summary>Records the largest batch and chunk it is handed, in Arrow bytes.</summary>
    private sealed class MeasuringSink(int chunkRows) : IBatchSink
    {
        private long _largestBatch;
        private long _largestChunk;
        private long _rows;
        private int _batches;

        public bool Opened { get; private set; }

        public long LargestBatch => Interlocked.Read(ref _largestBatch);

        public long LargestChunk => Interlocked.Read(ref _largestChunk);

        public long Rows => Interlocked.Read(ref _rows);

        public int Batches => _batches;

        public TimeSpan WriteDelay { get; init; }

        /// <summary>Each row as id:first character of column 1:its length, in write order.</summary>
        public List<string> Values { get; } = [];

        public int MaxConcurrency => 1;

        public int PreferredChunkRows => chunkRows;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
        {
            Opened = true;
            return ValueTask.CompletedTask;
        }

        public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            long chunkBytes = 0;
            foreach (var b in chunk.Batches)
            {
                var bytes = ArrowBytes(b);
                chunkBytes += bytes;
                _largestBatch = Math.Max(_largestBatch, bytes);
                _batches++;
                if (WriteDelay > TimeSpan.Zero && b.ColumnCount == 2)
                {
                    var ids = (StringArray)b.Column(0);
                    var payloads = (StringArray)b.Column(1);
                    for (var r = 0; r < b.Length; r++)
                    {
                        var payload = payloads.GetString(r);
                        Values.Add($"{ids.GetString(r)}:{payload[0]}:{payload.Length}");
                    }
                }
            }

            _largestChunk = Math.Max(_largestChunk, chunkBytes);
            _rows += chunk.Rows;
            await Task.Delay(WriteDelay, cancellationToken);
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
