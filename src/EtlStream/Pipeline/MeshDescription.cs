using System.Globalization;
using System.Text;
using EtlStream.Formats.Csv;

namespace EtlStream.Pipeline;

/// <summary>
/// The mesh a load would build, as text for <c>etlstream explain</c>: blocks, their parallelism and bounds, and
/// the memory those bounds allow. It states the same bounds <see cref="LoadPipeline"/> sets on its blocks.
/// </summary>
public static class MeshDescription
{
    /// <summary>Bytes a parsed batch takes per row in both forms (raw CSV columns, typed output), about 2 × 125 B for the standard job.</summary>
    private const int BytesPerRowInFlight = 256;

    /// <summary>The runtime, the code and a native writer, measured at ~100–120 MB before any batch.</summary>
    private const long BaselineBytes = 120L * 1024 * 1024;

    public static string Describe(LoadOptions options, CsvOptions csv, string sink, int sinkConcurrency, int sinkChunkRows)
    {
        var chunking = sinkChunkRows <= 1 ? "none: the sink takes batches one at a time" : $"gathers {sinkChunkRows:N0} rows per write";
        var sb = new StringBuilder();
        void Line(string stage, string block, string what) => sb.AppendLine(CultureInfo.InvariantCulture, $"    {stage,-11}{block,-16}{what}");
        Line("read", "ActionBlock", $"{options.ParallelFiles} files at once (parallelism {options.ParallelFiles}, capacity {options.ParallelFiles})");
        Line("decompress", "read-ahead", $"own task per file, {options.ReadAheadBuffers} × {options.ReadAheadBufferBytes / 1024:N0} KiB buffers; gzip, zip, bzip2, zstd by magic bytes");
        Line("parse", "CSV → Arrow", $"{csv.BatchRows:N0}-row batches, records up to {csv.MaxRecordBytes / (1024 * 1024):N0} MiB");
        Line("transform", "TransformBlock", $"filter, cast, trim, compute (parallelism {options.TransformParallelism}, capacity {options.TransformParallelism}, ordered)");
        Line("batch", "chunker", chunking);
        Line("load", "ActionBlock", $"{sink} (parallelism {sinkConcurrency}, capacity {sinkConcurrency})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    memory bound ≈ {EstimateMemoryBytes(options, csv, sinkConcurrency, sinkChunkRows) / 1e6:N0} MB");
        return sb.ToString();
    }

    /// <summary>
    /// Batches the bounds allow at once (one being parsed, one waiting to enter the transform, the transform's,
    /// the chunker's, the load's) times their size, plus read-ahead buffers and the baseline.
    /// </summary>
    public static long EstimateMemoryBytes(LoadOptions options, CsvOptions csv, int sinkConcurrency, int sinkChunkRows)
    {
        var chunkBatches = sinkChunkRows <= 1 ? 0 : (sinkChunkRows + csv.BatchRows - 1) / csv.BatchRows;
        long batches = 2 + options.TransformParallelism + chunkBatches + sinkConcurrency;
        long batchBytes = (long)csv.BatchRows * BytesPerRowInFlight;
        long readAhead = (long)options.ParallelFiles * options.ReadAheadBuffers * options.ReadAheadBufferBytes;
        return (batches * batchBytes) + readAhead + BaselineBytes;
    }
}
