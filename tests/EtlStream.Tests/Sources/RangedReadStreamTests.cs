using EtlStream.Sources;

namespace EtlStream.Tests.Sources;

/// <summary>The shared ranged reader on its own: order, the bound on reads in flight, retries and failures.</summary>
public sealed class RangedReadStreamTests
{
    private static readonly byte[] Data = SourceContractData.Csv(3_000_000, seed: 11);

    [Theory]
    [InlineData(64 * 1024, 1)]
    [InlineData(64 * 1024, 3)]
    [InlineData(100_000, 8)]
    [InlineData(4 * 1024 * 1024, 4)]
    public async Task Blocks_finishing_in_any_order_come_out_in_order_with_at_most_the_bound_in_flight(int blockSize, int inFlight)
    {
        var running = 0;
        var maxRunning = 0;
        var random = new Random(blockSize + inFlight);
        async Task<Stream> ReadRange(long offset, int count, CancellationToken token)
        {
            var now = Interlocked.Increment(ref running);
            InterlockedMax(ref maxRunning, now);
            int delay;
            lock (random)
            {
                delay = random.Next(0, 15);
            }

            await Task.Delay(delay, token);
            Interlocked.Decrement(ref running);
            return new MemoryStream(Data, (int)offset, count, writable: false);
        }

        await using var stream = new RangedReadStream(Data.Length, new RangedReadOptions { BlockSize = blockSize, MaxInFlight = inFlight }, ReadRange);
        var read = new MemoryStream();
        await stream.CopyToAsync(read, 5_003);
        Assert.Equal(Data, read.ToArray());
        Assert.InRange(maxRunning, 1, inFlight);
        Assert.Equal(0, await stream.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task A_body_that_breaks_is_read_again_from_its_block_start_and_a_store_failure_is_not()
    {
        var attempts = new Dictionary<long, int>();
        Task<Stream> ReadRange(long offset, int count, CancellationToken token)
        {
            lock (attempts)
            {
                attempts[offset] = attempts.GetValueOrDefault(offset) + 1;
                if (offset == 65_536 && attempts[offset] < 3)
                {
                    return Task.FromResult<Stream>(new MemoryStream(Data, (int)offset, count / 2)); // ends early: EndOfStreamException
                }

                if (offset == 10 * 65_536)
                {
                    throw SourceException.Replaced("az://c/x.csv", "v1");
                }
            }

            return Task.FromResult<Stream>(new MemoryStream(Data, (int)offset, count));
        }

        var options = new RangedReadOptions { BlockSize = 65_536, MaxInFlight = 2, RetryDelay = TimeSpan.FromMilliseconds(1) };
        await using var stream = new RangedReadStream(Data.Length, options, ReadRange);
        var read = new MemoryStream();
        var e = await Assert.ThrowsAsync<SourceException>(() => stream.CopyToAsync(read));
        Assert.Equal("az://c/x.csv: the object changed while it was read (listed at version v1, now another); the file fails rather than mixing versions", e.Message);
        Assert.Equal(Data.AsSpan(0, 10 * 65_536).ToArray(), read.ToArray()); // every block before the failure, whole and in order
        Assert.Equal(3, attempts[65_536]);
        Assert.Equal(1, attempts[10 * 65_536]);
    }

    [Fact]
    public async Task Disposing_mid_read_cancels_the_blocks_in_flight()
    {
        var cancelled = 0;
        async Task<Stream> ReadRange(long offset, int count, CancellationToken token)
        {
            if (offset > 0)
            {
                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                }
                catch (OperationCanceledException)
                {
                    Interlocked.Increment(ref cancelled);
                    throw;
                }
            }

            return new MemoryStream(Data, (int)offset, count);
        }

        var stream = new RangedReadStream(Data.Length, new RangedReadOptions { BlockSize = 65_536, MaxInFlight = 4 }, ReadRange);
        Assert.Equal(100, await stream.ReadAsync(new byte[100]));
        await stream.DisposeAsync();
        for (var waited = 0; Volatile.Read(ref cancelled) < 4 && waited < 10_000; waited += 20)
        {
            await Task.Delay(20);
        }

        Assert.Equal(4, cancelled);
        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await stream.ReadExactlyAsync(new byte[10]));
    }

    [Fact]
    public void Options_are_checked_with_every_problem()
    {
        Assert.Equal(
            ["source.block_size: 1000 is below 64 KiB", "source.max_in_flight: 0 is not between 1 and 64", "source.max_attempts: 0 is below 1"],
            new RangedReadOptions { BlockSize = 1000, MaxInFlight = 0, MaxAttempts = 0 }.Validate("source"));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}
