using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using EtlStream.Memory;

namespace EtlStream.Formats.Csv;

public sealed partial class CsvArrowParser
{
    /// <summary>A column's buffers while a batch is being filled; detached into the batch when it is full.</summary>
    private sealed class ColumnBuilder
    {
        private const int MaxCarriedValueBytes = 4 * 1024 * 1024;

        private int _batchRows;
        private byte[] _values;
        private byte[] _offsets;
        private byte[] _validity;
        private int _length;

        public ColumnBuilder(int batchRows, int valueBytes)
        {
            _batchRows = batchRows;
            _values = BufferPool.Rent(valueBytes);
            (_offsets, _validity) = TextColumnBuffers.RentRowBuffers(batchRows);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void Append(ReadOnlySpan<byte> bytes)
        {
            if (_length + bytes.Length > _values.Length)
            {
                Grow(bytes.Length);
            }

            bytes.CopyTo(_values.AsSpan(_length));
            _length += bytes.Length;
        }

        public void Append(byte b)
        {
            if (_length + 1 > _values.Length)
            {
                Grow(1);
            }

            _values[_length++] = b;
        }

        /// <summary>Ends a row's value; the validity bit is set here, and nulls are counted from the bitmap when the batch is taken.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public void EndValue(int row, bool isNull)
        {
            Unsafe.As<byte, int>(ref _offsets[(row + 1) * sizeof(int)]) = _length;
            if (!isNull)
            {
                _validity[row >> 3] |= (byte)(1 << (row & 7));
            }
        }

        public ReadOnlySpan<byte> ValueSpan(int row)
        {
            var offsets = MemoryMarshal.Cast<byte, int>(_offsets);
            return _values.AsSpan(offsets[row], offsets[row + 1] - offsets[row]);
        }

        public void RollBack(int rows)
        {
            _length = MemoryMarshal.Cast<byte, int>(_offsets)[rows];
            _validity[rows >> 3] &= (byte)~(1 << (rows & 7));
        }

        /// <summary>Holds <paramref name="rows"/> rows from now on, keeping the <paramref name="filled"/> rows already parsed.</summary>
        public void EnsureRows(int rows, int filled)
        {
            if (rows == _batchRows)
            {
                return;
            }

            var (offsets, validity) = TextColumnBuffers.RentRowBuffers(rows);
            _offsets.AsSpan(0, (filled + 1) * sizeof(int)).CopyTo(offsets);
            _validity.AsSpan(0, (filled + 7) / 8).CopyTo(validity);
            BufferPool.ReturnExact(_offsets);
            BufferPool.Return(_validity);
            (_offsets, _validity, _batchRows) = (offsets, validity, rows);
        }

        public void EnsureValueBytes(int bytes)
        {
            if (_values.Length < bytes)
            {
                Grow(bytes - _length);
            }
        }

        public void Reset()
        {
            _length = 0;
            Array.Clear(_validity, 0, (_batchRows + 7) / 8);
        }

        public TextColumnData Detach(int rows, BatchMemory owner, int nextRows)
        {
            // A record that did not fit was appended before it was rolled back: the batch gets its values in an array
            // of their own size instead of one grown for the record after them (16 MiB for a 5 MB value).
            if (_values.Length > MaxInitialValueBytes && _length <= _values.Length / 2)
            {
                var fitted = BufferPool.Rent(Math.Max(_length, 16));
                Buffer.BlockCopy(_values, 0, fitted, 0, _length);
                BufferPool.Return(_values);
                _values = fitted;
            }

            var data = new TextColumnData(_values, _offsets, _validity, rows - TextColumnBuffers.CountSet(_validity, rows));
            owner.Adopt(_values);
            owner.AdoptExact(_offsets);
            owner.Adopt(_validity);

            // The next batch is likely the same size: start it with this one's capacity, up to a few MiB. A column
            // that held one huge value grows again only if the next one is huge too, instead of holding its size
            // while the batch it went to is still in the mesh.
            _values = BufferPool.Rent(Math.Clamp(_length, 256, MaxCarriedValueBytes));
            _batchRows = nextRows;
            (_offsets, _validity) = TextColumnBuffers.RentRowBuffers(_batchRows);
            _length = 0;
            return data;
        }

        public void Release()
        {
            BufferPool.Return(_values);
            BufferPool.ReturnExact(_offsets);
            BufferPool.Return(_validity);
        }

        private void Grow(int needed)
        {
            var bigger = BufferPool.Rent(Math.Max(_values.Length * 2, _length + needed));
            Buffer.BlockCopy(_values, 0, bigger, 0, _length);
            BufferPool.Return(_values);
            _values = bigger;
        }
    }
}
