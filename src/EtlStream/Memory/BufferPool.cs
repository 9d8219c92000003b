using System.Buffers;
using System.Collections.Concurrent;

namespace EtlStream.Memory;

/// <summary>
/// The pool every batch buffer comes from. Batches are large (a 64 Ki-row string column is megabytes), so
/// the shared pool's small per-core caches would miss and the GC would churn the large-object heap.
/// </summary>
internal static class BufferPool
{
    private static readonly ArrayPool<byte> PowerOfTwo = ArrayPool<byte>.Create(maxArrayLength: 256 * 1024 * 1024, maxArraysPerBucket: 512);
    private static readonly ConcurrentDictionary<int, ConcurrentBag<byte[]>> Exact = new();

    public static readonly ArrayPool<long> Longs = ArrayPool<long>.Create(maxArrayLength: 64 * 1024 * 1024, maxArraysPerBucket: 32);

    /// <summary>
    /// Above this an array is allocated to size (rounded up to 1 MiB) and not pooled: a power of two would hold a
    /// 40 MB value in 64 MiB, in the parser's column, the batch and its transformed copy alike, and such values are
    /// too rare for pooling to pay.
    /// </summary>
    public const int LargeBytes = 16 * 1024 * 1024;

    /// <summary>Idle large arrays kept for reuse, at most this many bytes together: records of one file are often alike.</summary>
    private const long LargeCacheBytes = 128L * 1024 * 1024;

    private static readonly List<byte[]> Large = [];
    private static long _largeCached;

    /// <summary>An array of at least <paramref name="minimumLength"/> bytes: a power of two up to <see cref="LargeBytes"/>, else to the MiB.</summary>
    public static byte[] Rent(int minimumLength)
    {
        if (minimumLength <= LargeBytes)
        {
            return PowerOfTwo.Rent(minimumLength);
        }

        lock (Large)
        {
            // The smallest idle array that fits without wasting more than a quarter of itself.
            var best = -1;
            for (var i = 0; i < Large.Count; i++)
            {
                var length = Large[i].Length;
                if (length >= minimumLength && length - (length / 4) <= minimumLength && (best < 0 || length < Large[best].Length))
                {
                    best = i;
                }
            }

            if (best >= 0)
            {
                var array = Large[best];
                Large.RemoveAt(best);
                _largeCached -= array.Length;
                return array;
            }
        }

        return GC.AllocateUninitializedArray<byte>((int)Math.Min(Array.MaxLength, ((long)minimumLength + 0xFFFFF) & ~0xFFFFFL));
    }

    /// <summary>
    /// An array of exactly <paramref name="length"/> bytes, for sizes every batch repeats: a 64 Ki-row offsets
    /// buffer needs 256 KiB + 4 bytes, which a power-of-two pool would serve with 512 KiB.
    /// </summary>
    public static byte[] RentExact(int length) =>
        Exact.TryGetValue(length, out var bag) && bag.TryTake(out var array) ? array : new byte[length];

    public static void Return(byte[] array)
    {
        if (array.Length <= LargeBytes)
        {
            PowerOfTwo.Return(array);
            return;
        }

        lock (Large)
        {
            // Past the cache's bytes the oldest idle arrays go to the GC.
            Large.Add(array);
            _largeCached += array.Length;
            while (_largeCached > LargeCacheBytes)
            {
                _largeCached -= Large[0].Length;
                Large.RemoveAt(0);
            }
        }
    }

    public static void ReturnExact(byte[] array) => Exact.GetOrAdd(array.Length, _ => []).Add(array);
}

/// <summary>Owns the pooled arrays behind one batch's Arrow buffers and returns them when disposed.</summary>
internal sealed class BatchMemory : IDisposable
{
    private readonly List<byte[]> _bytes = [];
    private readonly List<byte[]> _exact = [];
    private readonly List<long[]> _longs = [];
    private long _total;

    /// <summary>The bytes of the arrays held, as allocated (pool rounding included).</summary>
    public long Bytes => _total;

    public byte[] RentBytes(int minimumLength)
    {
        var a = BufferPool.Rent(Math.Max(minimumLength, 16));
        _bytes.Add(a);
        _total += a.Length;
        return a;
    }

    /// <summary>An offsets buffer for up to <paramref name="rows"/> rows, sized exactly: see <see cref="BufferPool.RentExact"/>.</summary>
    public byte[] RentOffsets(int rows)
    {
        var a = BufferPool.RentExact((rows + 1) * sizeof(int));
        _exact.Add(a);
        _total += a.Length;
        return a;
    }

    /// <summary>Takes ownership of an array rented elsewhere (a parser's growing buffer).</summary>
    public void Adopt(byte[] array)
    {
        _bytes.Add(array);
        _total += array.Length;
    }

    public void AdoptExact(byte[] array)
    {
        _exact.Add(array);
        _total += array.Length;
    }

    public void Adopt(long[] array)
    {
        _longs.Add(array);
        _total += (long)array.Length * sizeof(long);
    }

    public void Dispose()
    {
        foreach (var a in _bytes)
        {
            BufferPool.Return(a);
        }

        foreach (var a in _exact)
        {
            BufferPool.ReturnExact(a);
        }

        foreach (var a in _longs)
        {
            BufferPool.Longs.Return(a);
        }

        _bytes.Clear();
        _exact.Clear();
        _longs.Clear();
        _total = 0;
    }
}
