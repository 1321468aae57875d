// Marks one ELF version-requirement entry (a "vernaux" record) weak, so that a shared library
// built against a newer libstdc++ loads on a system whose libstdc++ lacks that version.
//
// TorchSharp 0.107's libLibTorchSharp.so requires GLIBCXX_3.4.32. The only symbol bound to that
// version is std::ios_base_library_init(), a link-time anchor that is never called, so a weak
// requirement is safe. This file is compiled twice: into an MSBuild task (build/NativeFix.targets)
// that patches build outputs, and into Unlearn.Models for the installed tool's first-run fix.
#nullable enable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;

namespace Unlearn.NativeSupport
{
    /// <summary>What <see cref="ElfVersionPatch.MarkWeak"/> did.</summary>
    public enum ElfPatchOutcome
    {
        /// <summary>The entry was strong and is now weak; the output file was written.</summary>
        Patched,
        /// <summary>The entry was already weak; the output file equals the input.</summary>
        AlreadyWeak,
        /// <summary>The library does not require the version at all.</summary>
        NotRequired,
    }

    /// <summary>Reads and edits the GNU version-needs table of a 64-bit little-endian ELF file.</summary>
    public static class ElfVersionPatch
    {
        private const uint ShtGnuVerneed = 0x6ffffffe;
        private const ushort VerFlagWeak = 0x2;

        /// <summary>The libstdc++ version that TorchSharp's native library asks for.</summary>
        public const string TorchSharpGlibcxxVersion = "GLIBCXX_3.4.32";

        /// <summary>Version names the library requires, with their weak flag.</summary>
        public static IReadOnlyList<KeyValuePair<string, bool>> ReadRequirements(byte[] elf)
        {
            var result = new List<KeyValuePair<string, bool>>();
            foreach (var entry in EnumerateAux(elf))
            {
                result.Add(new KeyValuePair<string, bool>(entry.Name, (ReadU16(elf, entry.FlagsOffset) & VerFlagWeak) != 0));
            }
            return result;
        }

        /// <summary>Writes <paramref name="outputPath"/> as <paramref name="inputPath"/> with the requirement on
        /// <paramref name="versionName"/> marked weak. Writes through a temporary file and a rename, so a
        /// hard-linked output never changes the file it links to.</summary>
        public static ElfPatchOutcome MarkWeak(string inputPath, string versionName, string outputPath)
        {
            var elf = File.ReadAllBytes(inputPath);
            var found = false;
            var changed = false;
            foreach (var entry in EnumerateAux(elf))
            {
                if (entry.Name != versionName) continue;
                found = true;
                var flags = ReadU16(elf, entry.FlagsOffset);
                if ((flags & VerFlagWeak) == 0)
                {
                    WriteU16(elf, entry.FlagsOffset, (ushort)(flags | VerFlagWeak));
                    changed = true;
                }
            }
            if (!found) return ElfPatchOutcome.NotRequired;
            if (!changed && string.Equals(Path.GetFullPath(inputPath), Path.GetFullPath(outputPath), StringComparison.Ordinal))
                return ElfPatchOutcome.AlreadyWeak;
            var directory = Path.GetDirectoryName(Path.GetFullPath(outputPath))!;
            Directory.CreateDirectory(directory);
            var temp = Path.Combine(directory, "." + Path.GetFileName(outputPath) + "." + Guid.NewGuid().ToString("N") + ".tmp");
            File.WriteAllBytes(temp, elf);
            // netstandard2.0 (the MSBuild task) has no File.Move overwrite; a same-folder rename is atomic on Linux.
            if (File.Exists(outputPath)) File.Replace(temp, outputPath, null);
            else File.Move(temp, outputPath);
            return changed ? ElfPatchOutcome.Patched : ElfPatchOutcome.AlreadyWeak;
        }

        /// <summary>True when the libstdc++ that the dynamic loader would pick defines <paramref name="versionName"/>.
        /// Returns true (nothing to fix) when no libstdc++ is found or the system is not Linux.</summary>
        public static bool SystemLibStdCxxHasVersion(string versionName)
        {
            var path = FindSystemLibStdCxx();
            if (path == null) return true;
            var needle = Encoding.ASCII.GetBytes(versionName + "\0");
            var bytes = File.ReadAllBytes(path);
            return IndexOf(bytes, needle) >= 0;
        }

        /// <summary>The first libstdc++.so.6 on the loader's usual search path, or null.</summary>
        public static string? FindSystemLibStdCxx()
        {
            if (!System.Runtime.InteropServices.RuntimeInformation.IsOSPlatform(System.Runtime.InteropServices.OSPlatform.Linux)) return null;
            var dirs = new List<string>();
            var ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldPath)) dirs.AddRange(ldPath.Split(new[] { ':' }, StringSplitOptions.RemoveEmptyEntries));
            dirs.AddRange(new[]
            {
                "/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
                "/lib64", "/usr/lib64", "/lib", "/usr/lib", "/usr/local/lib",
            });
            foreach (var dir in dirs)
            {
                var candidate = Path.Combine(dir, "libstdc++.so.6");
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }

        private readonly struct AuxEntry
        {
            public AuxEntry(string name, int flagsOffset) { Name = name; FlagsOffset = flagsOffset; }
            public string Name { get; }
            public int FlagsOffset { get; }
        }

        private static IEnumerable<AuxEntry> EnumerateAux(byte[] elf)
        {
            if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[2] != (byte)'L' || elf[3] != (byte)'F')
                throw new InvalidDataException("not an ELF file");
            if (elf[4] != 2 || elf[5] != 1)
                throw new InvalidDataException("only 64-bit little-endian ELF files are supported");
            var shoff = checked((long)ReadU64(elf, 0x28));
            var shentsize = ReadU16(elf, 0x3A);
            var shnum = ReadU16(elf, 0x3C);
            if (shentsize < 64 || shoff <= 0 || shoff + (long)shentsize * shnum > elf.Length)
                throw new InvalidDataException("ELF section header table is out of range");
            var entries = new List<AuxEntry>();
            for (var i = 0; i < shnum; i++)
            {
                var sh = checked((int)(shoff + (long)i * shentsize));
                if (ReadU32(elf, sh + 4) != ShtGnuVerneed) continue;
                var offset = checked((int)ReadU64(elf, sh + 24));
                var size = checked((int)ReadU64(elf, sh + 32));
                var link = (int)ReadU32(elf, sh + 40);
                var count = (int)ReadU32(elf, sh + 44);
                if (offset < 0 || size < 0 || offset + size > elf.Length || link >= shnum)
                    throw new InvalidDataException("ELF version-needs section is out of range");
                var strSh = checked((int)(shoff + (long)link * shentsize));
                var strOff = checked((int)ReadU64(elf, strSh + 24));
                var strSize = checked((int)ReadU64(elf, strSh + 32));
                var vn = offset;
                for (var n = 0; n < count; n++)
                {
                    var auxCount = ReadU16(elf, vn + 2);
                    var aux = vn + (int)ReadU32(elf, vn + 8);
                    for (var a = 0; a < auxCount; a++)
                    {
                        if (aux < offset || aux + 16 > offset + size)
                            throw new InvalidDataException("ELF version-needs entry is out of range");
                        var nameOffset = (int)ReadU32(elf, aux + 8);
                        entries.Add(new AuxEntry(ReadString(elf, strOff, strSize, nameOffset), aux + 4));
                        var next = (int)ReadU32(elf, aux + 12);
                        if (next == 0) break;
                        aux += next;
                    }
                    var nextNeed = (int)ReadU32(elf, vn + 12);
                    if (nextNeed == 0) break;
                    vn += nextNeed;
                }
            }
            return entries;
        }

        private static string ReadString(byte[] elf, int tableOffset, int tableSize, int index)
        {
            var start = tableOffset + index;
            if (index < 0 || index >= tableSize || start >= elf.Length) throw new InvalidDataException("ELF string index out of range");
            var end = start;
            while (end < elf.Length && end < tableOffset + tableSize && elf[end] != 0) end++;
            return Encoding.ASCII.GetString(elf, start, end - start);
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (var i = 0; i + needle.Length <= haystack.Length; i++)
            {
                var j = 0;
                while (j < needle.Length && haystack[i + j] == needle[j]) j++;
                if (j == needle.Length) return i;
            }
            return -1;
        }

        private static ushort ReadU16(byte[] b, int o) => (ushort)(b[o] | (b[o + 1] << 8));
        private static uint ReadU32(byte[] b, int o) => (uint)(b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24));
        private static ulong ReadU64(byte[] b, int o) => ReadU32(b, o) | ((ulong)ReadU32(b, o + 4) << 32);
        private static void WriteU16(byte[] b, int o, ushort v) { b[o] = (byte)v; b[o + 1] = (byte)(v >> 8); }
    }
}

#if !UNLEARN_NO_MSBUILD_TASK
namespace Unlearn.NativeSupport.Build
{
    using Microsoft.Build.Framework;
    using Microsoft.Build.Utilities;

    /// <summary>MSBuild task: patch libLibTorchSharp.so in a build output when the system libstdc++ needs it.</summary>
    public sealed class WeakenGlibcxxRequirement : Task
    {
        [Required] public string LibraryPath { get; set; } = "";

        public override bool Execute()
        {
            if (!File.Exists(LibraryPath)) return true;
            if (ElfVersionPatch.SystemLibStdCxxHasVersion(ElfVersionPatch.TorchSharpGlibcxxVersion))
            {
                Log.LogMessage(MessageImportance.Low, "System libstdc++ has {0}; {1} left as is.", ElfVersionPatch.TorchSharpGlibcxxVersion, LibraryPath);
                return true;
            }
            var outcome = ElfVersionPatch.MarkWeak(LibraryPath, ElfVersionPatch.TorchSharpGlibcxxVersion, LibraryPath);
            Log.LogMessage(MessageImportance.Normal, "{0}: {1} requirement {2}", LibraryPath, ElfVersionPatch.TorchSharpGlibcxxVersion, outcome);
            return true;
        }
    }
}
#endif
