using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Dataflow;
using EtlStream.Compression;
using EtlStream.Formats.Csv;
using EtlStream.Memory;
using EtlStream.Observability;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

public sealed partial class LoadPipeline
{
    /// <summary>
    /// Rows the database refused: counted as loaded when their chunk was written, and outside max_reject_ratio, which
    /// is checked before the sink commits (the database's own limit, e.g. Stream Load's max_filter_ratio, governs them).
    /// </summary>
    private async ValueTask RecordSinkRejectsAsync(IReadOnlyList<RejectedRow> rows, CancellationToken token)
    {
        Interlocked.Add(ref _rowsLoaded, -rows.Count);
        await RecordRejectsAsync(rows, token, againstRatio: false).ConfigureAwait(false);
    }

    private async Task RecordRejectsAsync(IReadOnlyList<RejectedRow> rows, CancellationToken token, bool againstRatio = true)
    {
        Interlocked.Add(ref _rowsRejected, rows.Count);
        foreach (var r in rows)
        {
            _rejectsByRule.AddOrUpdate(r.Rule, 1, (_, n) => n + 1);
            if (againstRatio)
            {
                _rejectsBySource.AddOrUpdate(r.File, 1, (_, n) => n + 1);
            }
        }

        if (againstRatio)
        {
            Interlocked.CompareExchange(ref _firstReject, rows[0], null);
        }

        if (_rejects is not null)
        {
            await _rejects.WriteAsync(rows, token).ConfigureAwait(false);
        }
    }

    /// <summary>Fails the run, before anything is committed, when a file rejected more than its share of rows.</summary>
    private void CheckRejectRatio(FileLoadResult[] files, double maxRatio)
    {
        foreach (var f in files)
        {
            if (f is null)
            {
                continue;
            }

            var rejected = _rejectsBySource.Where(r => r.Key == f.Name || r.Key.StartsWith(f.Name + "!", StringComparison.Ordinal)).Sum(r => r.Value);
            if (rejected > 0 && rejected > maxRatio * f.RowsRead)
            {
                var where = _rejects?.Path is null ? "" : $"; rejected rows are in {_rejects.Path}";
                throw new RejectLimitException(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"{f.Name}: {rejected:N0} of {f.RowsRead:N0} rows rejected ({100.0 * rejected / Math.Max(1, f.RowsRead):F2} %), over max_reject_ratio {maxRatio}; first: line {_firstReject?.Line}, column '{_firstReject?.Column}': {_firstReject?.Reason} (value '{_firstReject?.Value}'){where}"));
            }
        }
    }
}
