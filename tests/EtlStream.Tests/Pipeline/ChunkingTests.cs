using System.Collections.Concurrent;
using Apache.Arrow;
using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Pipeline;

/// <summary>
/// The sink contract that exactly-once loading rests on: a chunk never holds rows of two files, each file's chunks
/// are numbered 0..n−1 in row order, and a file is reported complete once, after all of its chunks were written.
/// </summary>
public sealed class ChunkingTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static readonly TableSpec Spec = TableSpecReader.Read("""
        table: t
        columns:
          - { name: id, type: int64 }
        """, "t.yaml") with { Csv = CsvOptions.Default with { BatchRows = 10 } };

    private IReadOnlyList<SourceFile> Files(params int[] rowsPerFile)
    {
        for (var f = 0; f < rowsPerFile.Length; f++)
        {
            var ids = Enumerable.Range(0, rowsPerFile[f]).Select(i => $"{f * 1000 + i}\n");
            File.WriteAllText(_dir.File($"f{f}.csv"), "id\n" + string.Concat(ids));
        }

        return LocalFileSource.List(_dir.Path);
    }

    [Theory]
    [InlineData(1, 25, 2)]     // rows cap: 25 rows per chunk of 10-row batches → chunks of 30
    [InlineData(4, 1, 1)]      // one batch per chunk, written 4 at a time
    [InlineData(2, 1_000, 3)]  // bigger than any file: one chunk per file
    public async Task Chunks_never_mix_files_are_numbered_in_order_and_each_file_completes_once_after_its_chunks(int concurrency, int chunkRows, int parallelFiles)
    {
        var files = Files(95, 0, 7, 230, 10);
        var sink = new RecordingSink(concurrency, chunkRows);
        var pipeline = new LoadPipeline(new LoadOptions { ParallelFiles = parallelFiles, LoadDate = new DateOnly(2026, 11, 24) });

        var result = await pipeline.RunAsync(files, Spec, sink, default);

        Assert.Equal(342, result.RowsLoaded);
        Assert.Equal(files.Select(f => f.Name).Order(), sink.Completed.Keys.Order());
        foreach (var file in files)
        {
            var chunks = sink.Chunks.Where(c => c.File == file.Name).OrderBy(c => c.Index).ToList();
            Assert.Equal(Enumerable.Range(0, chunks.Count), chunks.Select(c => c.Index));
            Assert.Equal(chunks.Count, sink.Completed[file.Name].Chunks);
            Assert.True(chunks.All(c => c.WrittenAt < sink.Completed[file.Name].At), "a file completed before one of its chunks was written");

            // The file's ids, in order, one file per chunk: ids are file * 1000 + row.
            var ids = chunks.SelectMany(c => c.Ids).ToList();
            var f = int.Parse(Path.GetFileNameWithoutExtension(file.Name)[1..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Enumerable.Range(f * 1000, ids.Count).Select(i => (long)i), ids);
        }

        Assert.Equal(0, sink.Completed[Path.Combine(_dir.Path, "f1.csv")].Chunks); // header only: complete, no chunk
        Assert.All(sink.Chunks, c => Assert.True(c.Ids.Count <= Math.Max(chunkRows, 10) + 9));
    }

    [Fact]
    public async Task A_byte_budget_closes_chunks_before_the_row_cap()
    {
        var files = Files(100);
        var sink = new RecordingSink(1, int.MaxValue) { ChunkBytes = 200 }; // a 10-row int64 batch is 80 bytes of values + validity
        await new LoadPipeline(new LoadOptions { LoadDate = new DateOnly(2026, 11, 24) }).RunAsync(files, Spec, sink, default);

        Assert.Equal([30, 30, 30, 10], sink.Chunks.OrderBy(c => c.Index).Select(c => c.Ids.Count));
    }

    /// <summary>
    /// The sink opens while the first files are read; nothing is written before it is open, and a sink that fails to
    /// open fails the run with its own error, having been given no row.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task The_sink_opens_while_files_are_read_and_gets_no_row_before_it_is_open(bool openFails)
    {
        var files = Files(95, 230, 10);
        var sink = new SlowOpeningSink(openFails);
        var pipeline = new LoadPipeline(new LoadOptions { ParallelFiles = 2, LoadDate = new DateOnly(2026, 11, 24) });

        if (openFails)
        {
            var error = await Assert.ThrowsAsync<InvalidOperationException>(() => pipeline.RunAsync(files, Spec, sink, default));
            Assert.Equal("the table drifted", error.Message);
            Assert.Equal(0, sink.Writes);
            return;
        }

        var result = await pipeline.RunAsync(files, Spec, sink, default);
        Assert.Equal(335, result.RowsLoaded);
        Assert.Equal(335, sink.RowsWritten);
        Assert.False(sink.WroteBeforeOpen);
    }

    private sealed class SlowOpeningSink(bool fail) : IBatchSink
    {
        private volatile bool _open;

        public int Writes;

        public long RowsWritten;

        public bool WroteBeforeOpen { get; private set; }

        public int MaxConcurrency => 2;

        public int PreferredChunkRows => 1;

        public async ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken)
        {
            await Task.Delay(300, cancellationToken); // a database client connecting and reading the table back
            _open = !fail;
            if (fail)
            {
                throw new InvalidOperationException("the table drifted");
            }
        }

        public ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            WroteBeforeOpen |= !_open;
            Interlocked.Increment(ref Writes);
            Interlocked.Add(ref RowsWritten, chunk.Rows);
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>Records every call, with a clock that orders writes against completions.</summary>
    private sealed class RecordingSink(int concurrency, int chunkRows) : IBatchSink
    {
        private long _clock;

        public ConcurrentBag<(string File, int Index, List<long> Ids, long WrittenAt)> Chunks { get; } = [];

        public ConcurrentDictionary<string, (int Chunks, long At)> Completed { get; } = new();

        public long ChunkBytes { get; init; } = long.MaxValue;

        public int MaxConcurrency => concurrency;

        public int PreferredChunkRows => chunkRows;

        public long PreferredChunkBytes => ChunkBytes;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            var ids = chunk.Batches.SelectMany(b => ((Int64Array)b.Column(0)).Values.ToArray()).ToList();
            await Task.Delay(Random.Shared.Next(0, 5), cancellationToken); // let concurrent writes finish out of order
            Chunks.Add((chunk.Source!.Name, chunk.Index, ids, Interlocked.Increment(ref _clock)));
        }

        public ValueTask FileCompleteAsync(SourceFile file, int chunks, CancellationToken cancellationToken)
        {
            Assert.True(Completed.TryAdd(file.Name, (chunks, Interlocked.Increment(ref _clock))), $"{file.Name} completed twice");
            return ValueTask.CompletedTask;
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
