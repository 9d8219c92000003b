using System.Runtime.InteropServices;

namespace EtlStream.Sinks.Csv;

/// <summary>
/// What an output path is before a sink replaces it. A sink that writes a temp file and renames it over its target
/// would replace a FIFO, a device (<c>/dev/null</c>, as root) or a socket with a regular file, so those are refused.
/// </summary>
internal static partial class FileTargetKind
{
    /// <summary>Why <paramref name="path"/> cannot be replaced by a finished file, or null when it is a regular file or absent.</summary>
    public static string? WhyNotReplaceable(string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full))
        {
            return $"'{path}' is a folder, not a file";
        }

        if (OperatingSystem.IsWindows())
        {
            return null;
        }

        // The BCL exposes no file type beyond folder and link; the runtime's own native shim (shipped with every .NET
        // on Unix) does, with its own stable type constants and the mode as the struct's second int.
        if (LStat(full, out var status) != 0)
        {
            return null; // absent (or unreadable, which the write itself will report)
        }

        var kind = (status.Mode & 0xF000) switch
        {
            0x8000 => null,
            0x1000 => "a FIFO (named pipe)",
            0x2000 => "a character device",
            0x6000 => "a block device",
            0xA000 => "a symbolic link",
            0xC000 => "a socket",
            _ => "not a regular file",
        };
        return kind is null ? null
            : $"'{path}' is {kind}, not a regular file: the finished file is renamed over the target, which would replace it, so only regular files and new paths are written";
    }

    // Larger than the runtime's FileStatus in any version, so the shim never writes past it.
    [StructLayout(LayoutKind.Sequential, Size = 512)]
    private struct FileStatus
    {
        public int Flags;
        public int Mode;
    }

    [LibraryImport("libSystem.Native", EntryPoint = "SystemNative_LStat", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int LStat(string path, out FileStatus status);
}
