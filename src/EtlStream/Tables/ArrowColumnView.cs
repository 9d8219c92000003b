using System.Buffers;
using System.Runtime.CompilerServices;
using Apache.Arrow;
using Apache.Arrow.Types;

namespace EtlStream.Tables;

/// <summary>
/// One Arrow column's buffers as pinned pointers, for encoders that visit every value (the Stream Load CSV body, PostgreSQL
/// binary COPY): per-value reads through <see cref="ReadOnlyMemory{T}.Span"/> cost
/// more than formatting the value (measured: the encoder ran 3× slower).
/// </summary>
internal readonly unsafe struct ArrowColumnView
{
    private readonly byte* _validity;
    private readonly byte* _values;
    private readonly byte* _data;
    private readonly int _offset;

    private ArrowColumnView(IArrowArray array, List<MemoryHandle> pins, ColumnKind kind, int scale = 0, long microsPerUnit = 1)
    {
        Kind = kind;
        Scale = scale;
        MicrosPerUnit = microsPerUnit;
        _offset = array.Offset;
        var buffers = array.Data.Buffers;
        _validity = array.NullCount > 0 ? Pin(buffers[0], pins) : null;
        _values = Pin(buffers[1], pins);
        _data = kind == ColumnKind.String ? Pin(buffers[2], pins) : null;
    }

    public ColumnKind Kind { get; }

    public int Scale { get; }

    public long MicrosPerUnit { get; }

    public static ArrowColumnView Create(IArrowArray array, List<MemoryHandle> pins) => ArrowTypes.KindOf(array.Data.DataType) switch
    {
        ColumnKind.Decimal => new(array, pins, ColumnKind.Decimal, ((Decimal128Type)array.Data.DataType).Scale),
        ColumnKind.Timestamp => new(array, pins, ColumnKind.Timestamp, microsPerUnit: ((TimestampType)array.Data.DataType).Unit switch
        {
            TimeUnit.Second => 1_000_000,
            TimeUnit.Millisecond => 1_000,
            TimeUnit.Microsecond => 1,
            _ => throw new NotSupportedException("nanosecond timestamps are not supported (seconds, milliseconds and microseconds are)"),
        }),
        var kind => new(array, pins, kind),
    };

    private static byte* Pin(ArrowBuffer buffer, List<MemoryHandle> pins)
    {
        var handle = buffer.Memory.Pin();
        pins.Add(handle);
        return (byte*)handle.Pointer;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool IsNull(int row)
    {
        if (_validity == null)
        {
            return false;
        }

        var i = _offset + row;
        return (_validity[i >> 3] & (1 << (i & 7))) == 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public T Value<T>(int row)
        where T : unmanaged => ((T*)_values)[_offset + row];

    public bool Bool(int row)
    {
        var i = _offset + row;
        return (_values[i >> 3] & (1 << (i & 7))) != 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int StringLength(int row)
    {
        var offsets = (int*)_values + _offset + row;
        return offsets[1] - offsets[0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ReadOnlySpan<byte> StringBytes(int row)
    {
        var offsets = (int*)_values + _offset + row;
        return new ReadOnlySpan<byte>(_data + offsets[0], offsets[1] - offsets[0]);
    }
}
