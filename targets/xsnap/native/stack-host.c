/*
 * tbxs's XS host: @agoric/xsnap's xsnap-worker with the JavaScript stack of a Moddable device.
 *
 * xsnap-worker creates every machine with a 4,096-slot stack; mcconfig gives an app 384 slots
 * unless the manifest's `creation.stack` says otherwise, and a Moddable app that overflows it is
 * dead (`XS abort: JavaScript stack overflow`). Nothing of xsnap's sources is changed here: this
 * file is linked with the objects @agoric/xsnap's own install compiled, and the linker's --wrap
 * puts four functions in front of XS's own (see below).
 *
 * What "a stack of N slots" means on the device. A Moddable app is cloned from its preloaded
 * archive (fxCloneMachine in xsAPI.c): XS's ~150 intrinsic roots (prototypes, constructors) stay
 * in the archive, in flash, and the app's own stack holds only DEVICE_ROOTS of them; everything
 * else of creation.stack is the JavaScript's. xsnap-worker builds its machine from scratch, with
 * every root on its stack. So tbxsLimitStack(N) leaves the JavaScript here exactly the room it has
 * on a device with creation.stack = N, and every figure this host reports is in the device's
 * terms (slots in use as the device would count them). Checked against Moddable 5.6.0's lin
 * simulator: a socket callback's host frame starts at 18 slots there and at 161 - 143 = 18 here.
 *
 *   fxCreateMachine  adds the globals:
 *                    tbxsLimitStack(slots)  the device's stack from now on. Call it once the bundle
 *                      is loaded: Moddable's preload runs at build time in the linker, not on the
 *                      board's stack.
 *                    tbxsStackUsed()  the slots in use at the call.
 *                    tbxsStackPeak(reset)  the most slots in use since the last reset, with the
 *                      frames at that moment ("peak;slots name;slots name;...", innermost first),
 *                      sampled where XS checks its meter (every call and branch): a profile that
 *                      names each path; the smallest passing stack is found by search.
 *   fxAbort          on a stack overflow, prints one line naming the stack size, then one line per
 *                    frame (innermost first) with the slots in use at its entry.
 *   fxDeleteMachine  gives XS back the stack bottom it allocated before freeing it.
 *   fxSetCurrentMeter (xsnap zeroes the meter at each request) also rewinds the meter's next
 *                    check, which xsnap leaves where the last request ended, so the profile keeps
 *                    sampling at every check in every request.
 *
 * The limit moves `stackBottom` up, which is all the overflow checks read [xsRun.c mxAllocStack,
 * xsAPI.c fxOverflow]; the garbage collector walks the live part (stack .. stackTop) only. XS also
 * lends the free part of the stack to RegExp and dtoa as scratch memory, from stackBottom up: with
 * the limit that scratch is as small as on the device (both fall back to malloc when it is short).
 *
 * Built by targets/xsnap/native/build.mjs (run by npm's postinstall).
 */
#include "xsAll.h" /* the machine internals: stack, frames */
#include "xs.h"    /* the host function API */
#include <stdio.h>
#include <stdlib.h>

extern txMachine* __real_fxCreateMachine(txCreation* creation, txString name, void* context, txID profileID);
extern void __real_fxDeleteMachine(txMachine* the);
extern void __real_fxAbort(txMachine* the, int status);
extern void __real_fxSetCurrentMeter(txMachine* the, txUnsigned value);

/*
 * Roots a machine cloned from a preloaded archive keeps on its own stack (Moddable SDK 5.6.0,
 * xsAPI.c fxCloneMachine: mxGlobal, mxException, mxProgram, mxHosts, mxModuleQueue,
 * mxUnhandledPromises, mxDuringJobs, mxFinalizationRegistries, mxPendingJobs, mxRunningJobs,
 * mxBreakpoints, mxHostInspectors, mxInstanceInspectors).
 */
#define DEVICE_ROOTS 13

/* xsnap runs one machine per process. */
static txMachine* gMachine = C_NULL;
/* Slots this machine keeps on its stack beyond the device's roots: what device figures leave out. */
static txInteger gExtraRoots = 0;
static txSlot* gAllocatedBottom = C_NULL;
static txBoolean (*gMeterCallback)(txMachine*, txU4) = C_NULL;
static txInteger gPeak = 0;
static char gPeakFrames[4096] = "";

/* Writes "slots name;" for each frame, innermost first. */
static void tbxs_describeFrames(txMachine* the, char* out, size_t size)
{
	size_t used = 0;
	txSlot* frame = the->frame;
	out[0] = 0;
	while (frame && (used + 160 < size)) {
		char name[128] = "";
		fxBufferFrameName(the, name, sizeof(name), frame, "");
		used += snprintf(out + used, size - used, ";%d %s", (int)(the->stackTop - frame - gExtraRoots), name[0] ? name : "(host)");
		frame = frame->next;
	}
}

/* In front of xsnap's meter callback, which XS calls at every call and branch while metering. */
static txBoolean tbxs_meter(txMachine* the, txU4 index)
{
	txInteger used = (txInteger)(the->stackTop - the->stack) - gExtraRoots;
	if (used > gPeak) {
		gPeak = used;
		tbxs_describeFrames(the, gPeakFrames, sizeof(gPeakFrames));
	}
	return gMeterCallback ? (*gMeterCallback)(the, index) : 1;
}

/* xsnap-worker starts metering after the machine is made, so the hook goes in at the first use. */
static void tbxs_hookMeter(txMachine* the)
{
	if (the->meterCallback && (the->meterCallback != tbxs_meter)) {
		gMeterCallback = the->meterCallback;
		the->meterCallback = tbxs_meter;
	}
}

static void tbxs_limitStack(txMachine* the)
{
	txInteger slots = xsToInteger(xsArg(0));
	txSlot* bottom = the->stackTop - gExtraRoots - slots;
	/* Keep a few slots between the stack in use now and the new bottom, or the next push aborts. */
	if ((slots < 64) || (bottom < gAllocatedBottom) || (bottom > the->stack - 16))
		xsRangeError("tbxsLimitStack(%d): needs 64..%d slots, %d in use now", (int)slots, (int)(the->stackTop - gAllocatedBottom - gExtraRoots), (int)(the->stackTop - the->stack - gExtraRoots));
	the->stackBottom = bottom;
	tbxs_hookMeter(the);
	xsResult = xsInteger((txInteger)(the->stackTop - the->stack) - gExtraRoots);
}

static void tbxs_stackUsed(txMachine* the)
{
	xsResult = xsInteger((txInteger)(the->stackTop - the->stack) - gExtraRoots);
}

static void tbxs_stackPeak(txMachine* the)
{
	char text[4160];
	tbxs_hookMeter(the);
	snprintf(text, sizeof(text), "%d%s", (int)gPeak, gPeakFrames);
	if ((xsToInteger(xsArgc) > 0) && xsTest(xsArg(0))) {
		gPeak = 0;
		gPeakFrames[0] = 0;
	}
	xsResult = xsString(text);
}

txMachine* __wrap_fxCreateMachine(txCreation* creation, txString name, void* context, txID profileID)
{
	txMachine* the = __real_fxCreateMachine(creation, name, context, profileID);
	if (!the)
		return the;
	gMachine = the;
	gAllocatedBottom = the->stackBottom;
	gExtraRoots = (txInteger)(the->stackTop - the->stack) - DEVICE_ROOTS;
	xsBeginHost(the);
	{
		xsVars(1);
		xsVar(0) = xsNewHostFunction(tbxs_limitStack, 1);
		xsSet(xsGlobal, xsID("tbxsLimitStack"), xsVar(0));
		xsVar(0) = xsNewHostFunction(tbxs_stackUsed, 0);
		xsSet(xsGlobal, xsID("tbxsStackUsed"), xsVar(0));
		xsVar(0) = xsNewHostFunction(tbxs_stackPeak, 1);
		xsSet(xsGlobal, xsID("tbxsStackPeak"), xsVar(0));
	}
	xsEndHost(the);
	return the;
}

void __wrap_fxDeleteMachine(txMachine* the)
{
	if (the == gMachine) {
		the->stackBottom = gAllocatedBottom;
		gMachine = C_NULL;
	}
	__real_fxDeleteMachine(the);
}

void __wrap_fxSetCurrentMeter(txMachine* the, txUnsigned value)
{
	__real_fxSetCurrentMeter(the, value);
	if ((the->meterCallback == tbxs_meter) && the->meterInterval)
		the->meterCount = value + the->meterInterval;
}

void __wrap_fxAbort(txMachine* the, int status)
{
	if (status == XS_STACK_OVERFLOW_EXIT) {
		txSlot* frame = the->frame;
		fprintf(stderr, "tbxs-xs: JavaScript stack overflow: the XS stack of %d slots is full\n", (int)(the->stackTop - the->stackBottom - gExtraRoots));
		while (frame) {
			char buffer[128] = "";
			fxBufferFrameName(the, buffer, sizeof(buffer), frame, "");
			fprintf(stderr, "tbxs-xs:   %5d %s\n", (int)(the->stackTop - frame - gExtraRoots), buffer[0] ? buffer : "(host)");
			frame = frame->next;
		}
		fflush(stderr);
	}
	__real_fxAbort(the, status);
}
