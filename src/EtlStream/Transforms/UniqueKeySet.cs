using System.Buffers.Binary;
using System.Globalization;

namespace EtlStream.Transforms;

/// <summary>
/// The distinct values a <c>unique</c> column has had in a load, held as UTF-8 bytes in large arenas behind an
/// open-addressing table of (hash, position) instead of a <see cref="HashSet{T}"/> of strings: ~30 bytes per
/// 13-byte key instead of ~90, and no object per key for the GC to trace. Bounded by <see cref="LimitBytes"/>: past
/// it <see cref="Add"/> answers <see cref="UniqueAdd.Full"/> rather than growing without end. Not thread-safe.
/// </summary>
internal sealed class UniqueKeySet
{
    private const int MaxArenaBytes = 1024 * 1024;
    private const int LengthPrefix = sizeof(int);

    private readonly List<byte[]> _arenas = [];
    private int _arenaUsed;
    private int _arenaSize;

    // Parallel arrays: the key's hash, and where its bytes are (0: the slot is empty).
    private int[] _hashes = new int[1024];
    private long[] _positions = new long[1024];
    private long _arenaTotal;

    private readonly int _arenaBytes;

    public UniqueKeySet(long limitBytes)
    {
        LimitBytes = limitBytes;

        // Small limits get small arenas, so that the last one opened does not waste most of the limit.
        _arenaBytes = (int)Math.Clamp(limitBytes / 64, 4096, MaxArenaBytes);
    }

    /// <summary>Bytes the set may take: its table and its arenas together.</summary>
    public long LimitBytes { get; }

    public long Count { get; private set; }

    /// <summary>Bytes taken now: the table's arrays and the arenas' arrays.</summary>
    public long Bytes => ((long)_hashes.Length * (sizeof(int) + sizeof(long))) + _arenaTotal;

    /// <summary>Adds <paramref name="key"/>: <see cref="UniqueAdd.Duplicate"/> when it was there, <see cref="UniqueAdd.Full"/> (nothing added) when it would pass the limit.</summary>
    public UniqueAdd Add(ReadOnlySpan<byte> key)
    {
        var hash = Hash(key);
        var mask = _hashes.Length - 1;
        var i = hash & mask;
        while (_positions[i] != 0)
        {
            if (_hashes[i] == hash && Key(_positions[i]).SequenceEqual(key))
            {
                return UniqueAdd.Duplicate;
            }

            i = (i + 1) & mask;
        }

        if ((Count + 1) * 4 > _hashes.Length * 3L && !Resize())
        {
            return UniqueAdd.Full;
        }

        if (_hashes.Length - 1 != mask)
        {
            // Resized: find the key's free slot in the new table.
            mask = _hashes.Length - 1;
            i = hash & mask;
            while (_positions[i] != 0)
            {
                i = (i + 1) & mask;
            }
        }

        if (!TryStore(key, out var position))
        {
            return UniqueAdd.Full;
        }

        _hashes[i] = hash;
        _positions[i] = position;
        Count++;
        return UniqueAdd.Added;
    }

    private static int Hash(ReadOnlySpan<byte> key)
    {
        var h = new HashCode();
        h.AddBytes(key);
        return h.ToHashCode() & int.MaxValue;
    }

    // A position is (arena index + 1) << 32 | offset, so 0 marks an empty slot.
    private ReadOnlySpan<byte> Key(long position)
    {
        var arena = _arenas[(int)(position >> 32) - 1];
        var offset = (int)(uint)position;
        var length = BinaryPrimitives.ReadInt32LittleEndian(arena.AsSpan(offset));
        return arena.AsSpan(offset + LengthPrefix, length);
    }

    /// <summary>Copies the key into the current arena, or a new one (a key longer than an arena gets one of its own size).</summary>
    private bool TryStore(ReadOnlySpan<byte> key, out long position)
    {
        var needed = key.Length + LengthPrefix;
        if (_arenaUsed + needed > _arenaSize)
        {
            var size = Math.Max(_arenaBytes, needed);
            if (Bytes + size > LimitBytes)
            {
                position = 0;
                return false;
            }

            _arenas.Add(new byte[size]);
            _arenaTotal += size;
            (_arenaUsed, _arenaSize) = (0, size);
        }

        var arena = _arenas[^1];
        BinaryPrimitives.WriteInt32LittleEndian(arena.AsSpan(_arenaUsed), key.Length);
        key.CopyTo(arena.AsSpan(_arenaUsed + LengthPrefix));
        position = ((long)_arenas.Count << 32) | (uint)_arenaUsed;
        _arenaUsed += needed;
        return true;
    }

    private bool Resize()
    {
        var size = _hashes.Length * 2;
        if (_arenaTotal + ((long)size * (sizeof(int) + sizeof(long))) > LimitBytes)
        {
            return false;
        }

        var hashes = new int[size];
        var positions = new long[size];
        var mask = size - 1;
        for (var s = 0; s < _hashes.Length; s++)
        {
            if (_positions[s] == 0)
            {
                continue;
            }

            var i = _hashes[s] & mask;
            while (positions[i] != 0)
            {
                i = (i + 1) & mask;
            }

            hashes[i] = _hashes[s];
            positions[i] = _positions[s];
        }

        (_hashes, _positions) = (hashes, positions);
        return true;
    }
}

internal enum UniqueAdd
{
    Added,
    Duplicate,
    Full,
}

/// <summary>A <c>unique</c> column had more distinct values than its share of the memory budget holds.</summary>
public sealed class UniqueLimitException(string file, long line, string column, long keys, long limitBytes)
    : Exception(string.Create(CultureInfo.InvariantCulture,
        $"{file}:{line}: unique on {column}: more than {keys:N0} distinct keys ({limitBytes / 1048576.0:N1} MiB of memory_budget for its keys); raise --memory-budget or check uniqueness in the warehouse"))
{
    public string File { get; } = file;

    public long Line { get; } = line;

    public string Column { get; } = column;

    public long Keys { get; } = keys;
}
