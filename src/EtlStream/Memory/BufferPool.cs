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

    /// <summary>An array of at least <paramref name="minimumLength"/> bytes, rounded up to a power of two.</summary>
    public static byte[] Rent(int minimumLength) => PowerOfTwo.Rent(minimumLength);

    /// <summary>
    /// An array of exactly <paramref name="length"/> bytes, for sizes every batch repeats: a 64 Ki-row offsets
    /// buffer needs 256 KiB + 4 bytes, which a power-of-two pool would serve with 512 KiB.
    /// </summary>
    public static byte[] RentExact(int length) =>
        Exact.TryGetValue(length, out var bag) && bag.TryTake(out var array) ? array : new byte[length];

    public static void Return(byte[] array) => PowerOfTwo.Return(array);

    public static void ReturnExact(byte[] array) => Exact.GetOrAdd(array.Length, _ => []).Add(array);
}

/// <summary>Owns the pooled arrays behind one batch's Arrow buffers and returns them when disposed.</summary>
internal sealed class BatchMemory : IDisposable
{
    private readonly List<byte[]> _bytes = [];
    private readonly List<byte[]> _exact = [];
    private readonly List<long[]> _longs = [];

    public byte[] RentBytes(int minimumLength)
    {
        var a = BufferPool.Rent(Math.Max(minimumLength, 16));
        _bytes.Add(a);
        return a;
    }

    /// <summary>An offsets buffer for up to <paramref name="rows"/> rows, sized exactly: see <see cref="BufferPool.RentExact"/>.</summary>
    public byte[] RentOffsets(int rows)
    {
        var a = BufferPool.RentExact((rows + 1) * sizeof(int));
        _exact.Add(a);
        return a;
    }

    /// <summary>Takes ownership of an array rented elsewhere (a parser's growing buffer).</summary>
    public void Adopt(byte[] array) => _bytes.Add(array);

    public void AdoptExact(byte[] array) => _exact.Add(array);

    public void Adopt(long[] array) => _longs.Add(array);

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
    }
}
