using System.Diagnostics;

namespace EtlStream.Pipeline;

/// <summary>Busy time of one pipeline stage, summed over all its workers: the run report's bottleneck finder.</summary>
public sealed class StageClock(string name)
{
    private long _ticks;

    public string Name { get; } = name;

    public TimeSpan Busy => TimeSpan.FromTicks(Interlocked.Read(ref _ticks));

    public void Add(TimeSpan elapsed) => Interlocked.Add(ref _ticks, elapsed.Ticks);

    /// <summary>Times the rest of a <c>using</c> scope.</summary>
    public Scope Measure() => new(this, Stopwatch.GetTimestamp());

    public readonly struct Scope(StageClock clock, long started) : IDisposable
    {
        public void Dispose() => clock.Add(Stopwatch.GetElapsedTime(started));
    }
}
