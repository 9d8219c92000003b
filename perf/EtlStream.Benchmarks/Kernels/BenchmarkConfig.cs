using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;

namespace EtlStream.Benchmarks.Kernels;

/// <summary>
/// The kernel suite's config: one short job (one launch, 2 warm-ups, 5 measured iterations) so the whole suite runs
/// in a few minutes on a shared 2-core machine, plus the MB/s, rows/s and B/row columns.
/// Every kernel class also carries <c>[MemoryDiagnoser]</c>: its Allocated column is the per-row allocation check.
/// </summary>
public sealed class KernelBenchmarkConfig : ManualConfig
{
    public KernelBenchmarkConfig()
    {
        AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(5).WithId("Kernel"));
        AddColumn(ThroughputColumn.MegabytesPerSecond, ThroughputColumn.RowsPerSecond, ThroughputColumn.AllocatedPerRow);
    }
}
