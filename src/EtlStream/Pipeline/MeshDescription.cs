using System.Globalization;
using System.Text;
using EtlStream.Formats.Csv;
using EtlStream.Tables;

namespace EtlStream.Pipeline;

/// <summary>
/// The mesh a load would build, as text for <c>etlstream explain</c>: blocks, their parallelism and bounds, and
/// the memory those bounds allow. It states the same bounds <see cref="LoadPipeline"/> sets on its blocks.
/// </summary>
public static class MeshDescription
{
    /// <summary>The runtime, the code and a native writer, measured at ~100–120 MB before any batch.</summary>
    private const long BaselineBytes = 120L * 1024 * 1024;

    public static string Describe(LoadOptions options, CsvOptions csv, string sink, int sinkConcurrency, int sinkChunkRows, long sinkChunkBytes = long.MaxValue, int uniqueColumns = 0)
    {
        var plan = MemoryPlan.For(options, options.ParallelFiles, sinkConcurrency, sinkChunkRows, sinkChunkBytes, uniqueColumns);
        var chunking = plan.ChunkSlots == 0 ? "none: the sink takes batches one at a time"
            : plan.SinkOwnsChunkBytes ? $"gathers {sinkChunkRows:N0} rows or {ByteSize.Format(plan.ChunkBytes)} per write (the sink's size)"
            : $"gathers {sinkChunkRows:N0} rows per write, or {ByteSize.Format(plan.ChunkBytes)} of Arrow bytes";
        var sb = new StringBuilder();
        void Line(string stage, string block, string what) => sb.AppendLine(CultureInfo.InvariantCulture, $"    {stage,-11}{block,-16}{what}");
        Line("read", "ActionBlock", $"{options.ParallelFiles} files at once (parallelism {options.ParallelFiles}, capacity {options.ParallelFiles})");
        Line("decompress", "read-ahead", $"own task per file, {options.ReadAheadBuffers} × {options.ReadAheadBufferBytes / 1024:N0} KiB buffers; gzip, zip, bzip2, zstd by magic bytes");
        Line("parse", "CSV → Arrow", $"{csv.BatchRows:N0}-row batches of at most {ByteSize.Format(plan.BatchBytes)} (fewer rows for wide files; a longer record is a batch of its own), records up to {csv.MaxRecordBytes / (1024 * 1024):N0} MiB");
        Line("transform", "TransformBlock", $"filter, cast, trim, compute (parallelism {options.TransformParallelism}, capacity {options.TransformParallelism}, ordered)");
        Line("batch", "chunker", chunking);
        Line("load", "ActionBlock", $"{sink} (parallelism {sinkConcurrency}, capacity {sinkConcurrency})");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    memory budget {ByteSize.Format(plan.Budget)} (--memory-budget): {Split(plan)}");
        sb.AppendLine(CultureInfo.InvariantCulture, $"    memory bound ≈ {ByteSize.Format(EstimateMemoryBytes(plan))} (the budget's {ByteSize.Format(plan.BoundBytes)}{(plan.SinkOwnsChunkBytes ? $", the sink's own {plan.ChunkSlots} × {ByteSize.Format(plan.ChunkBytes)} chunks" : "")} and ~{ByteSize.Format(BaselineBytes)} of runtime)");
        return sb.ToString();
    }

    /// <summary>What the budget holds, part by part.</summary>
    private static string Split(MemoryPlan plan)
    {
        var parts = new List<string>
        {
            $"read-ahead {ByteSize.Format(plan.ReadAheadBytes)}",
            $"{plan.BatchSlots} batches × {ByteSize.Format(plan.BatchBytes)}",
        };
        if (plan.ChunkSlots > 0 && !plan.SinkOwnsChunkBytes)
        {
            parts.Add($"{plan.ChunkSlots} chunks × {ByteSize.Format(plan.ChunkBytes + plan.BatchBytes)}");
        }

        if (plan.UniqueKeyBytes > 0)
        {
            parts.Add($"unique keys {ByteSize.Format(plan.UniqueKeyBytes)}");
        }

        // The counted bound is what holds whatever the records are: the slots assume batches of their planned size.
        return string.Join(", ", parts) + $"; batches and chunks in flight counted as allocated, at most {ByteSize.Format(plan.MeshBytes)}";
    }

    /// <summary>The plan's bytes, a sink's own chunks (a Stream Load's) and the runtime's baseline.</summary>
    public static long EstimateMemoryBytes(MemoryPlan plan) =>
        plan.BoundBytes + (plan.SinkOwnsChunkBytes ? plan.ChunkSlots * plan.ChunkBytes : 0) + BaselineBytes;
}
