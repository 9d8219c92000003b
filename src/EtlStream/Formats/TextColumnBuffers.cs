using System.Runtime.InteropServices;
using EtlStream.Memory;

namespace EtlStream.Formats;

/// <summary>The row buffers and null count of a <see cref="TextColumnData"/>, shared by the readers that build one (CSV, JSON).</summary>
internal static class TextColumnBuffers
{
    /// <summary>Pooled offsets (exactly <paramref name="rows"/> + 1, the first 0) and a cleared validity bitmap for <paramref name="rows"/> rows.</summary>
    public static (byte[] Offsets, byte[] Validity) RentRowBuffers(int rows)
    {
        var offsets = BufferPool.RentExact((rows + 1) * sizeof(int));
        MemoryMarshal.Cast<byte, int>(offsets.AsSpan())[0] = 0;
        var validity = BufferPool.Rent((rows + 7) / 8);
        Array.Clear(validity, 0, (rows + 7) / 8);
        return (offsets, validity);
    }

    /// <summary>The set bits among the first <paramref name="bits"/> of <paramref name="bitmap"/>: the non-null rows.</summary>
    public static int CountSet(byte[] bitmap, int bits)
    {
        var count = 0;
        var whole = bits >> 3;
        foreach (var b in bitmap.AsSpan(0, whole))
        {
            count += System.Numerics.BitOperations.PopCount(b);
        }

        for (var i = whole << 3; i < bits; i++)
        {
            count += (bitmap[i >> 3] >> (i & 7)) & 1;
        }

        return count;
    }
}
