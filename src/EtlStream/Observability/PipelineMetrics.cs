using EtlStream.Pipeline;

namespace EtlStream.Observability;

/// <summary>
/// One run's recorder onto <see cref="EtlStreamMetrics"/>: holds the run's <c>table</c> tag and turns the
/// stage clocks' running totals into counter increments. Called per batch, chunk or file, never per row.
/// </summary>
internal sealed class PipelineMetrics
{
    private readonly KeyValuePair<string, object?> _table;
    private readonly StageClock[] _clocks;
    private readonly KeyValuePair<string, object?>[] _stageTags;
    private readonly long[] _reportedTicks;

    public PipelineMetrics(string table, IReadOnlyList<StageClock> clocks)
    {
        _table = EtlStreamMetrics.Table(table);
        _clocks = [.. clocks];
        _stageTags = new KeyValuePair<string, object?>[_clocks.Length];
        for (var i = 0; i < _clocks.Length; i++)
        {
            _stageTags[i] = new(EtlStreamMetrics.StageTag, _clocks[i].Name);
        }

        _reportedTicks = new long[_clocks.Length];

        // Counters that stay at zero still get a series, so exporters show them from the start.
        EtlStreamMetrics.RowsRejected.Add(0, _table);
        EtlStreamMetrics.LoadFailures.Add(0, _table);
        EtlStreamMetrics.LoadRetries.Add(0, _table);
    }

    public void BatchParsed(long rows, long bytes)
    {
        EtlStreamMetrics.RowsRead.Add(rows, _table);
        EtlStreamMetrics.BytesRead.Add(bytes, _table);
    }

    public void BatchFiltered(long rows) => EtlStreamMetrics.RowsFiltered.Add(rows, _table);

    public void BatchRejected(long rows) => EtlStreamMetrics.RowsRejected.Add(rows, _table);

    public void FileRead() => EtlStreamMetrics.FilesRead.Add(1, _table);

    public void WriteSucceeded(long rows, TimeSpan elapsed)
    {
        EtlStreamMetrics.Loads.Add(1, _table);
        EtlStreamMetrics.RowsLoaded.Add(rows, _table);
        EtlStreamMetrics.LoadDuration.Record(elapsed.TotalSeconds, _table);
    }

    public void WriteFailed(Exception error, TimeSpan elapsed)
    {
        var errorType = new KeyValuePair<string, object?>("error.type", error.GetType().FullName);
        EtlStreamMetrics.LoadFailures.Add(1, _table, errorType);
        EtlStreamMetrics.LoadDuration.Record(elapsed.TotalSeconds, _table, errorType);
    }

    /// <summary>
    /// Adds each stage's busy time accrued since the last call. Safe from any thread: a total is only ever moved
    /// forward, so the increments never go negative and always sum to the clock's value at the latest call.
    /// </summary>
    public void FlushStageBusy()
    {
        for (var i = 0; i < _clocks.Length; i++)
        {
            var now = _clocks[i].Busy.Ticks;
            var reported = Volatile.Read(ref _reportedTicks[i]);
            while (now > reported)
            {
                var seen = Interlocked.CompareExchange(ref _reportedTicks[i], now, reported);
                if (seen == reported)
                {
                    EtlStreamMetrics.StageBusy.Add(TimeSpan.FromTicks(now - reported).TotalSeconds, _table, _stageTags[i]);
                    break;
                }

                reported = seen;
            }
        }
    }
}
