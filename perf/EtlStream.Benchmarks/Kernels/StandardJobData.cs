using EtlStream.Formats;
using EtlStream.Formats.Csv;
using EtlStream.Generation;
using EtlStream.Tables;
using EtlStream.Transforms;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>
/// The standard job's input for the kernel benchmarks: 100,000 rows generated with seed 42 into memory, the job's
/// table spec from <c>perf/jobs/invoices.yaml</c>, and helpers that parse and transform it ahead of a benchmark.
/// Deterministic, so the host process (which computes the MB/s and rows/s columns) and the benchmark process see
/// the same bytes.
/// </summary>
internal sealed class StandardJobData
{
    public const int Rows = 100_000;
    public const int Seed = 42;
    public const string SourceName = "bench.csv";

    /// <summary>A fixed load date so runs are comparable; the standard job has no load-date column anyway.</summary>
    public static readonly DateOnly LoadDate = new(2026, 1, 1);

    private static readonly Lazy<WorkloadSizes> LazySizes = new(MeasureSizes);

    private StandardJobData(byte[] csv, TableSpec spec)
    {
        Csv = csv;
        Spec = spec;
    }

    /// <summary>The uncompressed CSV, header included.</summary>
    public byte[] Csv { get; }

    /// <summary>The standard job's table spec.</summary>
    public TableSpec Spec { get; }

    /// <summary>Input sizes, computed once per process (the host calls this to fill the throughput columns).</summary>
    public static WorkloadSizes Sizes => LazySizes.Value;

    /// <summary>Writes every batch through a sink, as the load stage does; returns the rows written.</summary>
    public static async Task<long> WriteThroughAsync(EtlStream.Sinks.IBatchSink sink, IReadOnlyList<EtlStream.Transforms.TransformedBatch> batches)
    {
        try
        {
            await sink.OpenAsync(batches[0].Batch.Schema, CancellationToken.None);
            var rows = 0L;
            foreach (var b in batches)
            {
                await sink.WriteAsync(new EtlStream.Sinks.SinkChunk([b.Batch]), CancellationToken.None);
                rows += b.Batch.Length;
            }

            await sink.CompleteAsync(CancellationToken.None);
            return rows;
        }
        finally
        {
            await sink.DisposeAsync();
        }
    }

    private static readonly Lazy<byte[]> LazyJsonLines = new(() =>
    {
        using var output = new MemoryStream(64 << 20);
        InvoiceGenerator.WriteJsonLinesAsync(output, Rows, Seed, CancellationToken.None).GetAwaiter().GetResult();
        return output.ToArray();
    });

    /// <summary>The same rows as JSON Lines (the JSON job's input), generated once per process.</summary>
    public static byte[] JsonLines => LazyJsonLines.Value;

    public static long JsonLinesBytes => JsonLines.LongLength;

    /// <summary>The JSON job's table spec, <c>perf/jobs/invoices-jsonl.yaml</c>.</summary>
    public static TableSpec JsonSpec() => TableSpecReader.ReadFile(Path.Combine(RepoRoot.Find(), "perf", "jobs", "invoices-jsonl.yaml"));

    public static StandardJobData Create()
    {
        using var output = new MemoryStream(32 << 20);
        InvoiceGenerator.WriteCsvAsync(output, Rows, Seed, CancellationToken.None).GetAwaiter().GetResult();
        var spec = TableSpecReader.ReadFile(Path.Combine(RepoRoot.Find(), "perf", "jobs", "invoices.yaml"));
        return new StandardJobData(output.ToArray(), spec);
    }

    /// <summary>Parses the whole CSV; the caller owns (and disposes) the batches.</summary>
    public ParsedCsv Parse()
    {
        using var parser = new CsvArrowParser(new MemoryStream(Csv, writable: false), SourceName, Spec.Csv);
        var header = parser.ReadHeaderAsync().AsTask().GetAwaiter().GetResult();
        var batches = new List<TextBatch>();
        while (parser.ReadBatchAsync().AsTask().GetAwaiter().GetResult() is { } batch)
        {
            batches.Add(batch);
        }

        return new ParsedCsv(header, [.. batches]);
    }

    /// <summary>Runs the full standard-job transform over parsed batches; the caller owns (and disposes) the results.</summary>
    public TransformedBatch[] Transform(ParsedCsv parsed)
    {
        var bound = new TableTransform(Spec, LoadDate).Bind(SourceName, parsed.Header);
        var result = new TransformedBatch[parsed.Batches.Length];
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = bound.Apply(parsed.Batches[i]);
        }

        return result;
    }

    private static WorkloadSizes MeasureSizes()
    {
        var data = Create();
        var parsed = data.Parse();
        try
        {
            var rows = 0L;
            var columnBytes = new Dictionary<string, long>(StringComparer.OrdinalIgnoreCase);
            foreach (var batch in parsed.Batches)
            {
                rows += batch.RowCount;
                for (var c = 0; c < batch.ColumnCount; c++)
                {
                    // Field values as parsed (quotes removed); what a cast of that one column reads.
                    var values = batch.Column(c).ValueOffsets;
                    columnBytes[parsed.Header[c]] = columnBytes.GetValueOrDefault(parsed.Header[c]) + values[batch.RowCount] - values[0];
                }
            }

            var kept = 0L;
            foreach (var t in data.Transform(parsed))
            {
                kept += t.Batch.Length;
                t.Dispose();
            }

            return new WorkloadSizes(data.Csv.LongLength, rows, kept, columnBytes);
        }
        finally
        {
            parsed.Dispose();
        }
    }
}

/// <summary>A parsed CSV held across benchmark iterations.</summary>
internal sealed record ParsedCsv(IReadOnlyList<string> Header, TextBatch[] Batches) : IDisposable
{
    public void Dispose()
    {
        foreach (var b in Batches)
        {
            b.Dispose();
        }
    }
}

/// <summary>What one benchmark op of the kernel suite works on.</summary>
/// <param name="CsvBytes">Uncompressed CSV bytes, header included.</param>
/// <param name="Rows">Input records.</param>
/// <param name="KeptRows">Records left after the standard job's <c>qty != 0</c> filter.</param>
/// <param name="ColumnBytes">Per source header, the bytes of its field values (quotes removed).</param>
internal sealed record WorkloadSizes(long CsvBytes, long Rows, long KeptRows, IReadOnlyDictionary<string, long> ColumnBytes);

/// <summary>Finds the repository root (the folder holding <c>EtlStream.sln</c>).</summary>
internal static class RepoRoot
{
    public const string EnvironmentVariable = "ETLSTREAM_ROOT";

    public static string Find()
    {
        // BenchmarkDotNet runs each benchmark from a generated project under bin/, so try the working
        // directory, the assembly's folder and the app base; then the environment variable.
        string?[] starts = [Directory.GetCurrentDirectory(), Path.GetDirectoryName(typeof(RepoRoot).Assembly.Location), AppContext.BaseDirectory];
        foreach (var start in starts)
        {
            for (var dir = string.IsNullOrEmpty(start) ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "EtlStream.sln")))
                {
                    return dir.FullName;
                }
            }
        }

        if (Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } root && File.Exists(Path.Combine(root, "EtlStream.sln")))
        {
            return root;
        }

        throw new InvalidOperationException($"Cannot find EtlStream.sln above '{Directory.GetCurrentDirectory()}' or '{AppContext.BaseDirectory}'; set {EnvironmentVariable} to the repository root.");
    }
}
