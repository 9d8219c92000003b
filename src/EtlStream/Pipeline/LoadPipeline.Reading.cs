using EtlStream.Formats;
using System.Diagnostics;
using System.Threading.Tasks.Dataflow;
using EtlStream.Compression;
using EtlStream.Memory;
using EtlStream.Observability;
using Microsoft.Extensions.Logging;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Transforms;

namespace EtlStream.Pipeline;

public sealed partial class LoadPipeline
{
    private async Task<FileLoadResult> ReadFileAsync(SourceFile file, TableTransform transform, ITargetBlock<ParsedWork> target, PipelineMetrics metrics, CancellationToken token)
    {
        var started = Stopwatch.GetTimestamp();
        var total = new EntryCounts();
        var raw = new CountingReadStream(await file.Open(token).ConfigureAwait(false), n => Interlocked.Add(ref _sourceBytesRead, n));
        await using (raw.ConfigureAwait(false))
        {
            await foreach (var entry in Decompression.OpenAsync(raw, file.Name, transform.Spec.Decompression ?? _options.DecompressionLimits, token).ConfigureAwait(false))
            {
                await using (entry.ConfigureAwait(false))
                {
                    // A small entry is read on this task: a read-ahead task per entry costs more in hand-offs than it
                    // saves (an archive of 100,000 small entries spent most of its CPU in thread-pool spinning).
                    var input = entry.DeclaredLength <= _options.ReadAheadBufferBytes
                        ? new CountingReadStream(entry.Stream, static _ => { }, _decompress)
                        : (Stream)new ReadAheadStream(entry.Stream, _options.ReadAheadBuffers, _options.ReadAheadBufferBytes, _decompress, token);
                    await using (input.ConfigureAwait(false))
                    {
                        try
                        {
                            await ParseEntryAsync(file, entry.Name, input, LocalPathOf(file, entry), transform, target, metrics, total, token).ConfigureAwait(false);
                        }
                        catch (Exception e) when (e is not InvalidDataException and not OperationCanceledException)
                        {
                            // Altered bytes come out before the check that covers them (a bzip2 block's CRC, a zip
                            // entry's): report the corruption, not the CSV error it caused.
                            if (await Decompression.FindCorruptionAsync(input, token).ConfigureAwait(false) is { } corrupt)
                            {
                                throw corrupt;
                            }

                            throw;
                        }
                    }
                }
            }
        }

        await SendAsync(target, new ParsedWork(file, null, null, total.Batches, null), token).ConfigureAwait(false);

        return new FileLoadResult(file.Name, total.Rows, total.Bytes, file.Length, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>The path of an entry that is a whole, uncompressed local file, for a format that reads in place (Parquet).</summary>
    private static string? LocalPathOf(SourceFile file, DecompressedEntry entry) =>
        entry.Kind == CompressionKind.None && entry.Name == file.Name ? file.LocalPath : null;

    private async Task ParseEntryAsync(SourceFile file, string name, Stream input, string? localPath, TableTransform transform, ITargetBlock<ParsedWork> target, PipelineMetrics metrics, EntryCounts counts, CancellationToken token)
    {
        var (format, formatted) = await InputFormats.ChooseAsync(input, transform.Spec, token).ConfigureAwait(false);
        using var parser = format.Open(formatted, name, transform.Spec, localPath);
        var header = await parser.ReadHeaderAsync(token).ConfigureAwait(false);
        if (header.Count == 0)
        {
            LogEmptyFile(_logger, name);
            return; // an empty file loads nothing
        }

        foreach (var warning in parser.HeaderWarnings)
        {
            LogFormatWarning(_logger, name, warning);
        }

        var bound = transform.Bind(name, header);
        if (bound.RenamedHeaders.Count > 0)
        {
            LogRenamedHeaders(_logger, name, string.Join(", ", bound.RenamedHeaders));
        }

        if (bound.Drift.Count > 0)
        {
            LogDrift(_logger, name, string.Join("; ", bound.Drift));
        }
        long lastBytes = 0;
        while (true)
        {
            TextBatch? batch;
            var t0 = Stopwatch.GetTimestamp();
            batch = await parser.ReadBatchAsync(token).ConfigureAwait(false);
            _parse.Add(Stopwatch.GetElapsedTime(t0));
            var bytes = parser.BytesConsumed - lastBytes;
            var rows = batch?.RowCount ?? 0;
            lastBytes = parser.BytesConsumed;
            Interlocked.Add(ref _bytesRead, bytes);
            Interlocked.Add(ref _rowsRead, rows);
            counts.Bytes += bytes;
            counts.Rows += rows;
            metrics.BatchParsed(rows, bytes);
            metrics.FlushStageBusy();
            if (batch is null)
            {
                foreach (var warning in parser.EntryWarnings)
                {
                    LogFormatWarning(_logger, name, warning);
                }

                return;
            }

            // Room for the batch and its transformed copy, taken before it enters the mesh: a reader whose batches
            // are huge (one record each) waits here for the sink to write earlier ones.
            MeshGrant grant;
            try
            {
                grant = await Memory!.AcquireAsync(2 * batch.MemoryBytes, token).ConfigureAwait(false);
            }
            catch
            {
                batch.Dispose();
                throw;
            }

            await SendAsync(target, new ParsedWork(file, bound, batch, counts.Batches++, grant), token).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: header names made unique: {Renamed}")]
    private static partial void LogRenamedHeaders(ILogger logger, string file, string renamed);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: the header differs from the spec, loaded by column name: {Drift}")]
    private static partial void LogDrift(ILogger logger, string file, string drift);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: {Warning}")]
    private static partial void LogFormatWarning(ILogger logger, string file, string warning);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File} is empty (no header, no rows): nothing loaded from it")]
    private static partial void LogEmptyFile(ILogger logger, string file);
}
