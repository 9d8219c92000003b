using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace EtlStream.Observability;

/// <summary>
/// The engine's metrics, on one <see cref="Meter"/> named <see cref="MeterName"/>: rows, bytes and files read,
/// rows loaded, filtered and rejected, sink writes (count, failures, retries, duration), busy seconds per stage
/// and the depth of the Dataflow queues. Every measurement carries a <c>table</c> tag (the table spec's name);
/// stage figures add <c>stage</c>. No file names: tags stay low-cardinality. Recorded per batch or per chunk,
/// never per row. Listen with a <see cref="MeterListener"/> or an OpenTelemetry <c>MeterProvider</c>.
/// </summary>
public static class EtlStreamMetrics
{
    public const string MeterName = "EtlStream";

    internal const string TableTag = "table";
    internal const string StageTag = "stage";

    private static readonly Meter Meter = new(MeterName, typeof(EtlStreamMetrics).Assembly.GetName().Version?.ToString());

    internal static readonly Counter<long> RowsRead = Meter.CreateCounter<long>("etlstream.rows.read", "{row}", "Source records parsed.");
    internal static readonly Counter<long> RowsLoaded = Meter.CreateCounter<long>("etlstream.rows.loaded", "{row}", "Rows the sink accepted.");
    internal static readonly Counter<long> RowsRejected = Meter.CreateCounter<long>("etlstream.rows.rejected", "{row}", "Rows rejected as bad data (none yet: a bad row fails the load).");
    internal static readonly Counter<long> RowsFiltered = Meter.CreateCounter<long>("etlstream.rows.filtered", "{row}", "Rows dropped by the table's row filters.");
    internal static readonly Counter<long> BytesRead = Meter.CreateCounter<long>("etlstream.bytes.read", "By", "Uncompressed bytes parsed.");
    internal static readonly Counter<long> FilesRead = Meter.CreateCounter<long>("etlstream.files.read", "{file}", "Source files read to the end.");
    internal static readonly Counter<long> Loads = Meter.CreateCounter<long>("etlstream.loads", "{write}", "Sink writes that succeeded.");
    internal static readonly Counter<long> LoadFailures = Meter.CreateCounter<long>("etlstream.load.failures", "{write}", "Sink writes that failed.");
    internal static readonly Counter<long> LoadRetries = Meter.CreateCounter<long>("etlstream.load.retries", "{write}", "Sink writes retried (none yet: no sink retries).");

    internal static readonly Histogram<double> LoadDuration = Meter.CreateHistogram(
        "etlstream.load.duration",
        "s",
        "Duration of each sink write.",
        tags: null,
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300] });

    internal static readonly Counter<double> StageBusy = Meter.CreateCounter<double>("etlstream.stage.busy", "s", "Busy seconds per stage, summed over the stage's workers.");

    private static readonly ConcurrentDictionary<QueueProbe, byte> LiveQueues = new();

    internal static readonly ObservableGauge<int> QueueDepth = Meter.CreateObservableGauge(
        "etlstream.stage.queue_depth", ObserveQueues, "{item}", "Items waiting at a stage's input (transform: batches; load: chunks), per running pipeline.");


    /// <summary>The metric names, for tests and docs.</summary>
    public static IReadOnlyList<string> InstrumentNames { get; } =
    [
        "etlstream.rows.read", "etlstream.rows.loaded", "etlstream.rows.rejected", "etlstream.rows.filtered",
        "etlstream.bytes.read", "etlstream.files.read",
        "etlstream.loads", "etlstream.load.failures", "etlstream.load.retries", "etlstream.load.duration",
        "etlstream.stage.busy", "etlstream.stage.queue_depth",
    ];

    /// <summary>Registers a running pipeline's queues with the queue-depth gauge until the result is disposed.</summary>
    internal static IDisposable TrackQueues(string table, Func<int> transformDepth, Func<int> loadDepth)
    {
        var probe = new QueueProbe(table, transformDepth, loadDepth);
        LiveQueues.TryAdd(probe, 0);
        return probe;
    }

    internal static KeyValuePair<string, object?> Table(string table) => new(TableTag, table);

    private static IEnumerable<Measurement<int>> ObserveQueues()
    {
        var measurements = new List<Measurement<int>>();
        foreach (var probe in LiveQueues.Keys)
        {
            measurements.Add(new Measurement<int>(probe.TransformDepth(), new KeyValuePair<string, object?>(TableTag, probe.Table), new KeyValuePair<string, object?>(StageTag, "transform")));
            measurements.Add(new Measurement<int>(probe.LoadDepth(), new KeyValuePair<string, object?>(TableTag, probe.Table), new KeyValuePair<string, object?>(StageTag, "load")));
        }

        return measurements;
    }

    private sealed class QueueProbe(string table, Func<int> transformDepth, Func<int> loadDepth) : IDisposable
    {
        public string Table { get; } = table;

        public Func<int> TransformDepth { get; } = transformDepth;

        public Func<int> LoadDepth { get; } = loadDepth;

        public void Dispose() => LiveQueues.TryRemove(this, out _);
    }
}
