using Apache.Arrow;

namespace EtlStream.Sinks.Parquet;

/// <summary>Guesses from a batch whether a column repeats values enough for dictionary encoding to pay.</summary>
internal static class DictionarySampler
{
    /// <summary>A whole default batch: a smaller sample calls a column of 20,000 dealers "unique".</summary>
    public const int SampleRows = 64 * 1024;

    /// <summary>
    /// True when at most half of the sampled non-null values are distinct (booleans and empty samples: true).
    /// <paramref name="seen"/> is scratch space shared across columns; counting stops once half the sample is
    /// distinct, so a near-unique column costs half a sample, not a set of the whole batch.
    /// </summary>
    public static bool RepeatsValues(IArrowArray array, HashSet<ulong> seen)
    {
        if (array is BooleanArray)
        {
            return true;
        }

        var rows = Math.Min(array.Length, SampleRows);
        var limit = (rows - array.NullCount) / 2;
        seen.Clear();
        var values = 0;
        for (var i = 0; i < rows; i++)
        {
            if (array.IsNull(i))
            {
                continue;
            }

            values++;
            if (seen.Add(Hash(ValueBytes(array, i))) && seen.Count > limit)
            {
                return false;
            }
        }

        return seen.Count * 2 <= values;
    }

    private static ReadOnlySpan<byte> ValueBytes(IArrowArray array, int i) => array switch
    {
        StringArray s => s.GetBytes(i),
        _ => FixedWidth(array, i),
    };

    private static ReadOnlySpan<byte> FixedWidth(IArrowArray array, int i)
    {
        var width = array.Data.DataType is Apache.Arrow.Types.FixedWidthType f ? f.BitWidth / 8 : 0;
        return array.Data.Buffers[1].Span.Slice((array.Offset + i) * width, width);
    }

    /// <summary>FNV-1a: a sample's distinct count needs no more than a cheap 64-bit hash.</summary>
    private static ulong Hash(ReadOnlySpan<byte> bytes)
    {
        var h = 14695981039346656037UL;
        foreach (var b in bytes)
        {
            h = (h ^ b) * 1099511628211UL;
        }

        return h;
    }
}
