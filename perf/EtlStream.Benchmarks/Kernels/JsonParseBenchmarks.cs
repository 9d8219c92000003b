using BenchmarkDotNet.Attributes;
using EtlStream.Formats.Json;
using EtlStream.Tables;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>
/// JSON Lines → Arrow string columns: the standard job's 100,000 rows in their JSON form, read by the JSON job's
/// paths from memory, batches disposed as they come. Next to <see cref="ParseBenchmarks"/> (the same rows as CSV).
/// </summary>
[Config(typeof(KernelBenchmarkConfig))]
[MemoryDiagnoser]
[KernelWorkload(KernelWorkload.InputJsonLines)]
public class JsonParseBenchmarks
{
    private byte[] _json = [];
    private TableSpec _spec = null!;

    [GlobalSetup]
    public void Setup()
    {
        _json = StandardJobData.JsonLines;
        _spec = StandardJobData.JsonSpec();
    }

    [Benchmark]
    public async Task<long> Parse()
    {
        using var reader = new JsonRecordReader(new MemoryStream(_json, writable: false), "bench.jsonl", _spec);
        await reader.ReadHeaderAsync(default);
        var rows = 0L;
        while (await reader.ReadBatchAsync(default) is { } batch)
        {
            rows += batch.RowCount;
            batch.Dispose();
        }

        return rows;
    }
}
