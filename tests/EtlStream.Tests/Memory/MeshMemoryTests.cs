using EtlStream.Memory;

namespace EtlStream.Tests.Memory;

/// <summary>The counter that bounds the batches in flight: grants, waiting, order, parked chunks and cancellation.</summary>
public sealed class MeshMemoryTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_grant_past_the_limit_waits_until_enough_is_given_back_and_the_high_water_stays_within_it()
    {
        var memory = new MeshMemory(100);
        using var a = await memory.AcquireAsync(60, default);
        var b = memory.AcquireAsync(50, default).AsTask();

        Assert.False(b.IsCompleted);
        a.Dispose();
        using var granted = await b.WaitAsync(Generous);

        Assert.Equal(50, memory.Used);
        Assert.Equal(60, memory.HighWater);
    }

    [Fact]
    public async Task Waiters_are_served_in_order_so_a_big_grant_is_not_starved_by_small_ones()
    {
        var memory = new MeshMemory(100);
        var held = await memory.AcquireAsync(90, default);
        var big = memory.AcquireAsync(80, default).AsTask();
        var small = memory.AcquireAsync(5, default).AsTask();

        // 5 bytes would fit now, but the big grant asked first.
        Assert.False(small.IsCompleted);
        held.Dispose();
        using var first = await big.WaitAsync(Generous);
        using var second = await small.WaitAsync(Generous);

        Assert.Equal(85, memory.Used);
    }

    [Fact]
    public async Task A_grant_larger_than_the_limit_is_given_once_only_parked_bytes_are_held()
    {
        var memory = new MeshMemory(100);
        using var chunk = await memory.AcquireAsync(30, default);
        var held = await memory.AcquireAsync(20, default);
        var huge = memory.AcquireAsync(150, default).AsTask();

        chunk.SetParked(true); // a partial chunk: given back only when this reader goes on
        Assert.False(huge.IsCompleted);
        held.Dispose();
        using var granted = await huge.WaitAsync(Generous);

        Assert.Equal(180, memory.Used);
        Assert.Equal(180, memory.HighWater);
    }

    [Fact]
    public async Task A_cancelled_wait_leaves_the_queue_and_the_next_waiter_is_served()
    {
        var memory = new MeshMemory(100);
        var held = await memory.AcquireAsync(100, default);
        using var cts = new CancellationTokenSource();
        var cancelled = memory.AcquireAsync(50, cts.Token).AsTask();
        var next = memory.AcquireAsync(40, default).AsTask();

        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => cancelled.WaitAsync(Generous));
        held.Dispose();
        using var granted = await next.WaitAsync(Generous);

        Assert.Equal(40, memory.Used);
    }

    [Fact]
    public async Task A_grant_grows_without_waiting_shrinks_to_its_copy_and_is_given_back_once()
    {
        var memory = new MeshMemory(100);
        var grant = await memory.AcquireAsync(40, default);

        grant.HoldAtLeast(70); // the transformed copy was larger than reserved
        Assert.Equal(70, memory.Used);
        grant.ShrinkTo(30);    // the parsed batch was freed
        Assert.Equal(30, memory.Used);
        grant.Dispose();
        grant.Dispose();

        Assert.Equal(0, memory.Used);
        Assert.Equal(70, memory.HighWater);
    }

    [Fact]
    public void A_huge_array_is_sized_to_the_MiB_not_the_next_power_of_two()
    {
        var array = BufferPool.Rent(40_000_000);

        Assert.InRange(array.Length, 40_000_000, 48 * 1024 * 1024); // to the MiB (39 MiB) or a cached array within a quarter; a power of two would be 64 MiB
        BufferPool.Return(array); // kept in a small cache of large arrays, not refused by the pool
        Assert.Same(array, BufferPool.Rent(39 * 1024 * 1024 - 100));
        Assert.Equal(16 * 1024 * 1024, BufferPool.Rent(16 * 1024 * 1024).Length);
    }
}
