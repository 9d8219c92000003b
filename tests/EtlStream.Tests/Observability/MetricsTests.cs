using System.Diagnostics.Metrics;
using System.IO.Compression;
using System.Text;
using Apache.Arrow;
using EtlStream.Observability;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources.Local;
using EtlStream.Tables;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Observability;

/// <summary>
/// What a listener on the <c>EtlStream</c> meter sees for a known run. Other tests' pipelines run in the same
/// process at the same time, so every test uses its own table name and counts only measurements tagged with it.
/// </summary>
public sealed class MetricsTests : IDisposable
{
    private static readonly string[] StageNames = ["decompress", "parse", "transform", "write"];
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Every_instrument_is_published_and_the_totals_match_the_run()
    {
        var table = UniqueTable();
        var input = _dir.File("in.csv");
        var csv = new StringBuilder("id,qty\n");
        for (var i = 0; i < 10_000; i++)
        {
            csv.Append(i).Append(',').Append(i % 100 == 0 ? 0 : i % 7 + 1).Append('\n'); // 100 rows with qty 0
        }

        await File.WriteAllTextAsync(input, csv.ToString());
        using var seen = new MetricsCollector(table);

        var result = await RunAsync(input, Spec(table, batchRows: 1_000));

        Assert.Equal(EtlStreamMetrics.InstrumentNames.Order(StringComparer.Ordinal), seen.Published.Order(StringComparer.Ordinal));
        Assert.Equal((10_000L, 9_900L, 100L, 0L), (result.RowsRead, result.RowsLoaded, result.RowsFiltered, result.RowsRejected));
        Assert.Equal(10_000, seen.Sum("etlstream.rows.read"));
        Assert.Equal(9_900, seen.Sum("etlstream.rows.loaded"));
        Assert.Equal(100, seen.Sum("etlstream.rows.filtered"));
        Assert.Equal(0, seen.Sum("etlstream.rows.rejected"));
        Assert.True(seen.Count("etlstream.rows.rejected") > 0, "rows.rejected is recorded (as 0) so exporters show it");
        Assert.Equal(1, seen.Sum("etlstream.files.read"));
        Assert.Equal(new FileInfo(input).Length, seen.Sum("etlstream.bytes.read"));
        Assert.Equal(result.BytesRead, seen.Sum("etlstream.bytes.read"));

        // The parquet sink takes one batch per write: 10 batches of 1,000 source rows, 10 writes.
        Assert.Equal(10, seen.Sum("etlstream.loads"));
        Assert.Equal(10, seen.Count("etlstream.load.duration"));
        Assert.All(seen.Values("etlstream.load.duration"), s => Assert.True(s >= 0));
        Assert.Equal(0, seen.Sum("etlstream.load.failures"));
        Assert.Equal(0, seen.Sum("etlstream.load.retries"));

        foreach (var stage in result.Stages)
        {
            Assert.True(stage.Busy > TimeSpan.Zero, $"{stage.Name} busy");
            // An absolute tolerance: rounding both sides to 6 places failed when they straddled a rounding boundary.
            Assert.InRange(Math.Abs(stage.Busy.TotalSeconds - seen.StageBusy(stage.Name)), 0, 1e-6);
        }

        Assert.Equal(StageNames, result.Stages.Select(s => s.Name));
        Assert.Contains(result.Bottleneck, StageNames);
        Assert.Equal(result.Stages.MaxBy(s => s.Busy)!.Name, result.Bottleneck);
    }

    [Fact]
    public async Task File_results_hold_each_files_rows_and_bytes_in_input_order()
    {
        var table = UniqueTable();
        var folder = _dir.File("in");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "a.csv"), "id,qty\n1,5\n2,0\n3,7\n");
        await File.WriteAllTextAsync(Path.Combine(folder, "b.csv"), "id,qty\n4,1\n5,2\n6,3\n7,4\n8,5\n");
        using var seen = new MetricsCollector(table);

        var result = await RunAsync(folder, Spec(table));

        Assert.Equal(
            [(Path.Combine(folder, "a.csv"), 3L, 19L, 19L), (Path.Combine(folder, "b.csv"), 5L, 27L, 27L)],
            result.FileResults.Select(f => (f.Name, f.RowsRead, f.BytesRead, f.CompressedBytes)));
        Assert.All(result.FileResults, f => Assert.True(f.Elapsed > TimeSpan.Zero));
        Assert.Equal(result.BytesRead, result.FileResults.Sum(f => f.BytesRead));
        Assert.Equal((8L, 7L, 2L), (result.RowsRead, result.RowsLoaded, seen.Sum("etlstream.files.read")));
        Assert.Contains(result.Bottleneck, StageNames);
    }

    [Fact]
    public async Task A_zip_archives_entries_are_summed_into_its_file()
    {
        var table = UniqueTable();
        var input = _dir.File("in.zip");
        using (var zip = ZipFile.Open(input, ZipArchiveMode.Create))
        {
            foreach (var (name, text) in new[] { ("x.csv", "id,qty\n1,1\n2,2\n"), ("y.csv", "id,qty\n3,3\n") })
            {
                await using var writer = new StreamWriter(zip.CreateEntry(name).Open());
                await writer.WriteAsync(text);
            }
        }

        var result = await RunAsync(input, Spec(table));

        var file = Assert.Single(result.FileResults);
        Assert.Equal((input, 3L, 15L + 11L, new FileInfo(input).Length), (file.Name, file.RowsRead, file.BytesRead, file.CompressedBytes));
    }

    [Fact]
    public async Task Queue_depths_are_observed_while_a_pipeline_runs_and_dropped_after()
    {
        var table = UniqueTable();
        var input = _dir.File("in.csv");
        await File.WriteAllTextAsync(input, "id,qty\n" + string.Concat(Enumerable.Range(1, 50).Select(i => $"{i},{i}\n")));
        using var seen = new MetricsCollector(table);
        var pipeline = new LoadPipeline(new LoadOptions());
        await using var sink = new GatedSink();
        Assert.Equal([("transform", 0), ("load", 0)], pipeline.QueueDepths.Select(d => (d.Key, d.Value)));

        var run = pipeline.RunAsync(LocalFileSource.List(input), Spec(table, batchRows: 10), sink, CancellationToken.None);
        await sink.FirstWrite.Task.WaitAsync(TimeSpan.FromSeconds(30));
        seen.ObserveGauges();
        Assert.Equal(["load", "transform"], seen.GaugeStages().Order(StringComparer.Ordinal));
        Assert.Equal(["load", "transform"], pipeline.QueueDepths.Keys.Order(StringComparer.Ordinal));
        Assert.All(pipeline.QueueDepths.Values, d => Assert.True(d >= 0));

        sink.Open.SetResult();
        var result = await run;
        Assert.Equal(50, result.RowsLoaded);
        Assert.Equal(50, seen.Sum("etlstream.rows.loaded"));
        Assert.Equal(5, seen.Sum("etlstream.loads"));
        Assert.True(pipeline.CompressedBytesOfFilesDone == new FileInfo(input).Length);
        seen.ClearGauges();
        seen.ObserveGauges();
        Assert.Empty(seen.GaugeStages());
        Assert.All(pipeline.QueueDepths.Values, d => Assert.Equal(0, d));
    }

    private static string UniqueTable() => "t_" + Guid.NewGuid().ToString("N");

    private static TableSpec Spec(string table, int batchRows = 65_536) => TableSpecReader.Read(
        $$"""
        table: {{table}}
        csv: { batch_rows: {{batchRows}} }
        columns:
          - { name: id, type: int64 }
          - { name: qty, type: int64 }
        filter:
          - { column: qty, op: "!=", value: 0 }
        """,
        "t.yaml");

    private async Task<LoadResult> RunAsync(string input, TableSpec spec)
    {
        await using var sink = SinkTarget.Create("parquet:" + _dir.File($"out/{spec.Name}.parquet"), "t");
        return await new LoadPipeline(new LoadOptions()).RunAsync(LocalFileSource.List(input), spec, sink, CancellationToken.None);
    }

    /// <summary>Holds every write until <see cref="Open"/> is set, so a test can look at a running pipeline.</summary>
    private sealed class GatedSink : IBatchSink
    {
        public TaskCompletionSource FirstWrite { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Open { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int MaxConcurrency => 1;

        public int PreferredChunkRows => 1;

        public ValueTask OpenAsync(Schema schema, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public async ValueTask WriteAsync(SinkChunk chunk, CancellationToken cancellationToken)
        {
            FirstWrite.TrySetResult();
            await Open.Task.WaitAsync(cancellationToken);
        }

        public ValueTask CompleteAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>A listener on the EtlStream meter that keeps only the measurements of one table.</summary>
    private sealed class MetricsCollector : IDisposable
    {
        private readonly string _table;
        private readonly MeterListener _listener = new();
        private readonly Lock _lock = new();
        private readonly List<(string Instrument, double Value, string? Stage)> _measurements = [];
        private readonly HashSet<string> _published = [];

        public MetricsCollector(string table)
        {
            _table = table;
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == EtlStreamMetrics.MeterName)
                {
                    lock (_lock)
                    {
                        _published.Add(instrument.Name);
                    }

                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
            _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
            _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
            _listener.Start();
        }

        public IReadOnlyCollection<string> Published
        {
            get
            {
                lock (_lock)
                {
                    return [.. _published];
                }
            }
        }

        public double Sum(string instrument) => Values(instrument).Sum();

        public int Count(string instrument) => Values(instrument).Count;

        public List<double> Values(string instrument)
        {
            lock (_lock)
            {
                return [.. _measurements.Where(m => m.Instrument == instrument).Select(m => m.Value)];
            }
        }

        public double StageBusy(string stage)
        {
            lock (_lock)
            {
                return _measurements.Where(m => m.Instrument == "etlstream.stage.busy" && m.Stage == stage).Sum(m => m.Value);
            }
        }

        public void ObserveGauges() => _listener.RecordObservableInstruments();

        public List<string?> GaugeStages()
        {
            lock (_lock)
            {
                return [.. _measurements.Where(m => m.Instrument == "etlstream.stage.queue_depth").Select(m => m.Stage)];
            }
        }

        public void ClearGauges()
        {
            lock (_lock)
            {
                _measurements.RemoveAll(m => m.Instrument == "etlstream.stage.queue_depth");
            }
        }

        public void Dispose() => _listener.Dispose();

        private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? table = null, stage = null;
            foreach (var tag in tags)
            {
                switch (tag.Key)
                {
                    case "table":
                        table = tag.Value as string;
                        break;
                    case "stage":
                        stage = tag.Value as string;
                        break;
                }
            }

            if (table == _table)
            {
                lock (_lock)
                {
                    _measurements.Add((instrument.Name, value, stage));
                }
            }
        }
    }
}
